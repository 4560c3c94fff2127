# syntax=docker/dockerfile:1
# The fabric service image: API + workers (`node dist/src/api/main.js`), workers only
# (`node dist/workers/main.js`), DHCP/ZTP with the built-in server or Kea. docs/deploy.md.
#
#   docker build -t fabric-ztp .
#
# Stages: build (all npm packages, tsc) -> prod-deps (runtime packages only) -> runtime
# (Debian tools the service calls, non-root user). Nothing is downloaded at run time.

# ---------------------------------------------------------------- build: dist/ from the sources
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY scripts/lock.js scripts/prepare.js scripts/
# An incomplete lock fails here with the fix (node scripts/lock.js refresh), not deep in npm.
RUN node scripts/lock.js check && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
COPY workers workers
# Only src/ and workers/ are compiled (tests and benchmarks stay out of the image).
RUN npx tsc -p tsconfig.json

# ---------------------------------------------------------------- prod-deps: runtime node_modules
FROM node:20-bookworm-slim AS prod-deps
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY scripts/lock.js scripts/
RUN node scripts/lock.js check && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------- runtime
FROM node:20-bookworm-slim AS runtime
# fping (brownfield sweep), snmp tools (snmpwalk, for checking a device by hand), redis-tools
# (redis-cli: health checks, backups), iproute2 (the DHCP server reads and routes its
# interface), kea-dhcp4-server (DHCP_BACKEND=kea), tini (PID 1: signals, zombies).
# libcap2-bin only to set the capabilities below, then removed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fping snmp redis-tools iproute2 kea-dhcp4-server tini ca-certificates libcap2-bin \
 && mkdir -p /opt/fabric/caps \
 # DHCP as a non-root user: copies of node and ip with file capabilities, used only by the
 # DHCP/ZTP container (its PATH puts /opt/fabric/caps first, compose adds the capabilities).
 # NET_ADMIN is not in Docker's default set, so a container without it never runs these.
 && cp /usr/local/bin/node /opt/fabric/caps/node \
 && setcap cap_net_bind_service,cap_net_raw+ep /opt/fabric/caps/node \
 && cp /usr/bin/ip /opt/fabric/caps/ip \
 && setcap cap_net_admin+ep /opt/fabric/caps/ip \
 && setcap cap_net_bind_service,cap_net_raw+ep /usr/sbin/kea-dhcp4 \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fabric \
 && useradd --system --uid 10001 --gid fabric --home-dir /app --shell /usr/sbin/nologin fabric \
 && mkdir -p /data && chown fabric:fabric /data && chmod 700 /data
WORKDIR /app
COPY --from=prod-deps /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY bin bin
COPY templates templates
COPY node-profiles node-profiles
COPY docker/healthcheck.js docker/healthcheck.js
ENV NODE_ENV=production DATA_DIR=/data PORT=8080 HOST=0.0.0.0
USER fabric
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/api/main.js"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "docker/healthcheck.js", "api"]
