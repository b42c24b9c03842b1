# claude-creds image: Node (the current LTS), the self-contained bundle and tini, on Debian slim.
#
#   docker build -t claude-creds:0.1.0 .              # --build-arg RUN_TESTS=true also runs the test suite
#   docker run --rm -e CLAUDE_CREDENTIALS_B64 -v claude:/claude claude-creds:0.1.0 fetch
#   docker run --rm -e CLAUDE_CREDENTIALS_B64 claude-creds:0.1.0 -- node -e "console.log('worker')"
#
# It runs as the unprivileged `node` user (uid 1000) and writes $CLAUDE_CONFIG_DIR/.credentials.json,
# /claude by default: a directory the image holds, owned by that user, so a new named volume mounted
# there starts out writable (Docker and Podman copy the directory's owner into it). To write onto a
# volume or a host directory that belongs to root, run it as root and hand the file to the worker's
# user: `docker run --user 0 ... claude-creds:0.1.0 fetch --owner 1000:1000` (compose `user: "0:0"`).
#
# Every stage is Debian, so the image can be built and tested where Debian's packages are all there
# is: `npm run test:image` builds this file with Podman and checks the container from outside.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The locked versions exactly; the sources are not here yet, so the prepare script (the build) runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
# Everything else in the context (.dockerignore keeps out node_modules, dist, .git): the tests read the
# examples, the README and this Dockerfile too.
COPY . .
# Off by default: the suite takes several minutes. `--build-arg RUN_TESTS=true` makes the build fail on a red suite.
ARG RUN_TESTS=false
RUN if [ "$RUN_TESTS" = "true" ]; then npm run typecheck && npm test; fi
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="claude-creds" \
      org.opencontainers.image.description="Deliver Claude Code OAuth credentials to headless containers from AWS, GCP, Azure, Vault, a file or an env variable, and keep them fresh." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
# tini from Debian as PID 1: it reaps the zombies a wrapped command leaves and passes signals on to
# claude-creds. npm, npx, corepack and yarn go: the bundle needs none of them, and a credentials
# tool's image should not carry a package manager (nor the advisories filed against its dependencies).
# /claude: the default config directory, owned by the image's user (0700, like every directory
# claude-creds makes), so `-v claude:/claude` works on a new named volume.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && install -d -o node -g node -m 0700 /claude
# Only the bundle: it needs no node_modules. Worker images copy this same directory (see README).
COPY --from=build /app/dist /opt/claude-creds
RUN ln -s /opt/claude-creds/claude-creds.mjs /usr/local/bin/claude-creds
USER node
WORKDIR /home/node
ENV NODE_ENV=production \
    CLAUDE_CONFIG_DIR=/claude
# Sidecar: /healthz when CLAUDE_CREDS_HEALTH_PORT is set. Otherwise `status` on the local file: valid,
# expiring and expired (the CLI refreshes it) are healthy; invalid (3) and missing (4) are not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/bin/sh", "-c", "if [ -n \"$CLAUDE_CREDS_HEALTH_PORT\" ]; then node -e \"fetch('http://127.0.0.1:'+process.env.CLAUDE_CREDS_HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\"; else node /opt/claude-creds/claude-creds.mjs status >/dev/null; [ $? -lt 3 ]; fi"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/claude-creds/claude-creds.mjs"]
CMD ["--help"]
