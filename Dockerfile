# One image for every process (availability, reservation, notification, gateway, migrate);
# docker-compose.yml picks the command. Build context: the repository root.

# --- build stage: generate protobuf code -----------------------------------------------
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements-runtime.txt requirements-build.txt ./
RUN pip install --no-cache-dir -r requirements-runtime.txt -r requirements-build.txt
COPY protos/ protos/
COPY tools/ tools/
RUN python tools/gen_protos.py --force

# --- runtime stage: runtime dependencies and our code only ------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BIND_HOST=0.0.0.0
WORKDIR /app
COPY requirements-runtime.txt ./
RUN pip install --no-cache-dir -r requirements-runtime.txt \
    && useradd --system --uid 10001 --no-create-home booking
COPY --from=build /src/booking/ booking/
COPY common/ common/
COPY services/ services/
COPY gateway/ gateway/
COPY migrations/ migrations/
COPY clinics/ clinics/
USER booking
EXPOSE 8080 50051 50052 50053
# Overridden per service in docker-compose.yml.
CMD ["python", "-m", "gateway"]
