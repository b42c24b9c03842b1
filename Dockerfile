# syntax=docker/dockerfile:1
# claude-creds image: Node, the self-contained bundle and tini, nothing else.
#
#   docker build -t claude-creds .                          # add --build-arg RUN_TESTS=true to run the suite
#   docker run --rm -e CLAUDE_CREDENTIALS_B64 -v claude:/claude -e CLAUDE_CONFIG_DIR=/claude claude-creds fetch
#   docker run --rm claude-creds fetch --provider gcp --secret projects/P/secrets/claude-credentials
#   docker run --rm -e CLAUDE_CREDENTIALS_B64 claude-creds -- node -e "console.log('worker')"
#
# It runs as the unprivileged `node` user (uid 1000), so by default it writes
# /home/node/.claude/.credentials.json, or $CLAUDE_CONFIG_DIR/.credentials.json. To write where only root
# may (/root/.claude, a volume root owned by root), run it as root and hand the file to the worker's
# user: `docker run --user 0 ... claude-creds fetch --owner 1000:1000` (compose `user: "0:0"`).
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The locked versions exactly; the sources are not here yet, so the prepare script (the build) runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
# Everything else in the context (.dockerignore keeps out node_modules, dist, .git): the tests read the
# examples, the README and this Dockerfile too.
COPY . .
# Off by default: the suite needs ~1 minute. `--build-arg RUN_TESTS=true` makes the image build fail on a red suite.
ARG RUN_TESTS=false
RUN if [ "$RUN_TESTS" = "true" ]; then npm run typecheck && npm test; fi
RUN npm run build

FROM node:${NODE_VERSION}-alpine AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="claude-creds" \
      org.opencontainers.image.description="Deliver Claude Code OAuth credentials to headless containers from AWS, GCP, Azure, a file or an env variable, and keep them fresh." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
# tini as PID 1: reaps the zombies a wrapped command leaves and passes signals on to claude-creds.
RUN apk add --no-cache tini
# Only the bundle: it needs no node_modules. Worker images copy this same directory (see README).
COPY --from=build /app/dist /opt/claude-creds
RUN ln -s /opt/claude-creds/claude-creds.mjs /usr/local/bin/claude-creds
USER node
WORKDIR /home/node
ENV NODE_ENV=production
# Sidecar: /healthz when CLAUDE_CREDS_HEALTH_PORT is set. Otherwise `status` on the local file: valid,
# expiring and expired (the CLI refreshes it) are healthy; invalid (3) and missing (4) are not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/bin/sh", "-c", "if [ -n \"$CLAUDE_CREDS_HEALTH_PORT\" ]; then node -e \"fetch('http://127.0.0.1:'+process.env.CLAUDE_CREDS_HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\"; else node /opt/claude-creds/claude-creds.mjs status >/dev/null; [ $? -lt 3 ]; fi"]
ENTRYPOINT ["/sbin/tini", "--", "node", "/opt/claude-creds/claude-creds.mjs"]
CMD ["--help"]
