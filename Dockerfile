# Multi-stage image for the three services (ext-proc, profiler, autoscaler); the command
# picks one: docker run IMAGE ext-proc/src/main.ts --config /etc/pythia/config.yaml
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY proto ./proto
COPY core/src ./core/src
COPY common/src ./common/src
COPY ext-proc/src ./ext-proc/src
COPY profiler/src ./profiler/src
COPY autoscaler/src ./autoscaler/src
COPY config ./config
# Run as the image's unprivileged user.
USER node
EXPOSE 50051 9090 9091 9092 50052
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["ext-proc/src/main.ts", "--config", "config/demo.yaml"]
