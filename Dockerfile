FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY jobs ./jobs
COPY scripts ./scripts
COPY fixtures ./fixtures
RUN npm ci && npm prune --omit=dev
USER node
ENTRYPOINT []
