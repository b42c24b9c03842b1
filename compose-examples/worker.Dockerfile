# A worker image that already runs the Claude CLI (so it has Node 20+) gets claude-creds with one line:
# copy the bundle out of the claude-creds image. Nothing to install, no node_modules.
#
#   docker build -t claude-creds:0.1.0 .                # in the claude-creds repository
#   docker build -f compose-examples/worker.Dockerfile -t my-claude-worker .
FROM node:24-bookworm-slim
RUN npm install -g @anthropic-ai/claude-code
COPY --from=claude-creds:0.1.0 /opt/claude-creds /opt/claude-creds
USER node
# claude-creds fetches the credentials, then runs the worker command with signals forwarded.
ENTRYPOINT ["node", "/opt/claude-creds/claude-creds.mjs", "--"]
CMD ["claude", "-p", "hello"]
