# PostgreSQL 15 from the debootstrapped base: Debian's own packages, as on the host.
FROM bm-swarm-base
# Debian's programs first on PATH: pg_dump / pg_restore run here through `docker exec`.
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/bm-pgdata/15
# The data folder belongs to postgres, so a fresh named volume mounted there does too.
RUN mkdir -p /var/lib/bm-pgdata /var/run/postgresql \
 && chown postgres:postgres /var/lib/bm-pgdata /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
USER postgres
ENTRYPOINT ["sh", "/usr/local/bin/postgres-entrypoint.sh"]
