# The example Next.js app's shared part as a real image (bm-swarm-app-base): the host's node, the
# app's sources with the maintenance drop-in and its node_modules (build-app.ts), run by an
# unprivileged user as production images are. app-version.Dockerfile adds one build of it.
FROM bm-swarm-base
COPY node /usr/local/bin/node
RUN useradd --uid 1001 --user-group --create-home app
COPY --chown=app:app app /app
# The lock folder: a bind mount in the stack; here so that an image alone runs too.
RUN mkdir -p /app/maintenance && chown app:app /app/maintenance
USER app
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000
CMD ["sh", "-c", "exec node node_modules/next/dist/bin/next start -H 127.0.0.1 -p \"$PORT\""]
