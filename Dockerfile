# tickflow image for every role: `docker run tickflow <run|ingest|store|process|serve> [flags]`.
# Used by deploy/docker-compose.yml; configuration comes from TICKFLOW_* variables.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The package's `prepare` script builds, and the sources are not copied yet.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-web.mjs scripts/
COPY src src
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY bin bin
COPY deploy deploy
COPY --from=build /app/dist dist
# The embedded database (store.url=embedded) keeps its files here.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
# Logs as JSON lines on stderr (no TTY in a container); 8080: API and dashboard, 9464-9466: probes
# and metrics of ingest, store and process.
ENV TICKFLOW_OPS_LOG_FORMAT=json TICKFLOW_STORE_DATA_DIR=/app/data
EXPOSE 8080 9464 9465 9466
# Node is PID 1 here and must handle SIGTERM itself: tickflow's shutdown coordinator does.
ENTRYPOINT ["node", "bin/tickflow.js"]
CMD ["run"]
