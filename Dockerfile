# Wattlake's two AWS images, built by `wattlake deploy` (src/wattlake/deploy.py):
#   runner   dbt on Athena and the exports, one `wattlake` stage per CodeBuild
#            build (infra/template.yaml, Runner); WATTLAKE_COMMAND names it
#   refresh  the refresh Lambda (lambda/refresh/handler.py): landing, quarantine,
#            starting the state machine; only the landing dependencies
# Build one by hand: docker build --target runner -t wattlake-runner .

FROM public.ecr.aws/docker/library/python:3.11-slim AS runner
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATTLAKE_PROJECT_DIR=/opt/wattlake DBT_SEND_ANONYMOUS_USAGE_STATS=false
WORKDIR /opt/wattlake
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip install .
# the dbt project and the settings `wattlake` reads
COPY wattlake.toml dbt_project.yml selectors.yml ./
COPY profiles/ profiles/
COPY models/ models/
COPY macros/ macros/
COPY seeds/ seeds/
COPY snapshots/ snapshots/
COPY tests/dbt/ tests/dbt/
COPY ingestion/ ingestion/
COPY infra/runner.sh /usr/local/bin/wattlake-runner
RUN chmod 0755 /usr/local/bin/wattlake-runner \
    && useradd --create-home --uid 1000 wattlake \
    && chown -R wattlake /opt/wattlake
USER wattlake
HEALTHCHECK NONE
ENTRYPOINT ["wattlake-runner"]

FROM public.ecr.aws/lambda/python:3.11 AS refresh
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md /tmp/wattlake/
COPY src/ /tmp/wattlake/src/
# the package without dbt, Spark or Tableau: landing needs pyarrow, numpy, pandas, boto3
RUN pip install --no-deps --target "${LAMBDA_TASK_ROOT}" /tmp/wattlake \
    && pip install --target "${LAMBDA_TASK_ROOT}" \
       "pyarrow>=18,<27" "numpy>=2.0,<3" "pandas>=2.2,<3" "boto3>=1.35,<2" \
    && rm -rf /tmp/wattlake
COPY lambda/refresh/handler.py ${LAMBDA_TASK_ROOT}/
HEALTHCHECK NONE
CMD ["handler.handler"]
