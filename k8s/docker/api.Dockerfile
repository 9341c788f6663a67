# syntax=docker/dockerfile:1
# SPDX-License-Identifier: ISC
#
# atcal api image: Kore HTTP API -> Postgres, with the schema/ migrations.
# Build from the repository root (the context must hold Makefile and the
# sources; api.Dockerfile.dockerignore beside this file keeps the rest out):
#   docker build -f k8s/docker/api.Dockerfile -t atcal/api .
# Stage 1 compiles with the project Makefile on Debian 12; stage 2 is
# bookworm-slim with only the shared libraries the binary links, running as
# the unprivileged uid 10001 (the pods' runAsUser).

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	build-essential pkg-config libssl-dev libzstd-dev librabbitmq-dev \
	libpq-dev libsecp256k1-dev libjansson-dev libcurl4-openssl-dev kore yq xxd \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY shared/ shared/
COPY api/ api/
RUN make -j"$(nproc)" WERROR=1 build/bin/api

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	ca-certificates libssl3 libzstd1 librabbitmq4 libpq5 libsecp256k1-1 \
	libjansson4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 atcal \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin atcal
COPY --from=build /src/build/bin/api /usr/local/bin/api
COPY schema/ /usr/share/atcal/schema/
# Listen on all interfaces inside the container (the binaries default to
# loopback for local runs); k8s sets the same in its ConfigMap.
ENV API_LISTEN=0.0.0.0:8080 SCHEMA_DIR=/usr/share/atcal/schema
EXPOSE 8080
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/api"]
