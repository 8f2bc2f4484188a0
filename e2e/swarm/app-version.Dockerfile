# One build of the example app (bm-swarm-app:v1, v2 or v3): its `next build` output and the Prisma
# client generated for that version's enum Role (build-app.ts), on the shared part. APP_BUILD is
# what its probe reports as the build (app/probe.ts).
FROM bm-swarm-app-base
ARG APP_BUILD
COPY --chown=app:app .next /app/.next
COPY --chown=app:app generated /app/generated
ENV APP_BUILD=${APP_BUILD}
