#!/usr/bin/env bash
# Deploy ticketflow to a Google Cloud project (see deploy/README.md for what each
# setting means). Needs: gcloud (authenticated), firebase-tools (npm ci), python3.11.
#   PROJECT_ID=my-proj REGION=us-central1 TICKETFLOW_DB_URL=https://... \
#   TICKETFLOW_DB_AUTH_TOKEN=... HOSTING_ORIGIN=https://my-proj.web.app deploy/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PROJECT_ID:?set PROJECT_ID}"
: "${TICKETFLOW_DB_URL:?set TICKETFLOW_DB_URL (https://... of the Turso / sqld server; libsql:// is read as https://)}"
REGION="${REGION:-us-central1}"
QUEUE="${QUEUE:-ticketflow-steps}"
INDEX_QUEUE="${INDEX_QUEUE:-ticketflow-index}"
INDEX_TIMEOUT_S="${INDEX_TIMEOUT_S:-1800}"        # = the index queue's dispatch deadline
TASKS_SA="${TASKS_SA:-ticketflow-tasks@${PROJECT_ID}.iam.gserviceaccount.com}"
RUNTIME_SA="${RUNTIME_SA:-ticketflow-functions@${PROJECT_ID}.iam.gserviceaccount.com}"
HOSTING_ORIGIN="${HOSTING_ORIGIN:-https://${PROJECT_ID}.web.app}"
DISPATCH_DEADLINE_S="${DISPATCH_DEADLINE_S:-600}"
RUN_STEP_TIMEOUT_S="${RUN_STEP_TIMEOUT_S:-600}"   # >= the task dispatch deadline
gcloud config set project "$PROJECT_ID" >/dev/null

# -- service accounts -----------------------------------------------------------------
for sa in "$TASKS_SA" "$RUNTIME_SA"; do
  name="${sa%@*}"
  gcloud iam service-accounts describe "$sa" >/dev/null 2>&1 ||
    gcloud iam service-accounts create "$name" --display-name "$name"
done
for role in roles/datastore.user roles/cloudtasks.enqueuer roles/eventarc.eventReceiver \
            roles/logging.logWriter roles/secretmanager.secretAccessor; do
  gcloud projects add-iam-policy-binding "$PROJECT_ID" --quiet \
    --member "serviceAccount:${RUNTIME_SA}" --role "$role" >/dev/null
done
# The runtime account enqueues tasks that carry TASKS_SA's OIDC identity.
gcloud iam service-accounts add-iam-policy-binding "$TASKS_SA" --quiet \
  --member "serviceAccount:${RUNTIME_SA}" --role roles/iam.serviceAccountUser >/dev/null

# -- the step queue (retries with backoff; the handler is idempotent) --------------------
QUEUE_FLAGS=(--location "$REGION" --max-attempts 20 --min-backoff 2s --max-backoff 300s
             --max-doublings 5 --max-retry-duration 3600s
             --max-dispatches-per-second 50 --max-concurrent-dispatches 100)
if gcloud tasks queues describe "$QUEUE" --location "$REGION" >/dev/null 2>&1; then
  gcloud tasks queues update "$QUEUE" "${QUEUE_FLAGS[@]}"
else
  gcloud tasks queues create "$QUEUE" "${QUEUE_FLAGS[@]}"
fi

# -- the index queue: one repository at a time per few instances, long backoff ----------
INDEX_QUEUE_FLAGS=(--location "$REGION" --max-attempts 10 --min-backoff 10s
                   --max-backoff 600s --max-doublings 4 --max-retry-duration 7200s
                   --max-dispatches-per-second 5 --max-concurrent-dispatches 5)
if gcloud tasks queues describe "$INDEX_QUEUE" --location "$REGION" >/dev/null 2>&1; then
  gcloud tasks queues update "$INDEX_QUEUE" "${INDEX_QUEUE_FLAGS[@]}"
else
  gcloud tasks queues create "$INDEX_QUEUE" "${INDEX_QUEUE_FLAGS[@]}"
fi

# -- build the functions' source: functions/main.py + the ticketflow package ------------
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT
cp functions/main.py "$BUILD/main.py"
cp -r shared/ticketflow "$BUILD/ticketflow"
find "$BUILD" -name __pycache__ -prune -exec rm -rf {} +
rm -f "$BUILD/ticketflow/devstack.py" "$BUILD/ticketflow/cli_dev.py"
python3.11 - "$BUILD/requirements.txt" <<'PY'
import sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
open(sys.argv[1], "w").write("\n".join(deps) + "\n")
PY

region_url() { gcloud functions describe "$1" --gen2 --region "$REGION" --format 'value(serviceConfig.uri)'; }
COMMON=(--gen2 --runtime python311 --region "$REGION" --source "$BUILD"
        --service-account "$RUNTIME_SA" --memory 1Gi)
SECRETS=()
if [ -n "${TICKETFLOW_DB_AUTH_TOKEN_SECRET:-}" ]; then
  SECRETS=(--set-secrets "TICKETFLOW_DB_AUTH_TOKEN=${TICKETFLOW_DB_AUTH_TOKEN_SECRET}:latest")
fi
if [ -n "${ANTHROPIC_API_KEY_SECRET:-}" ]; then
  SECRETS+=(--set-secrets "ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY_SECRET}:latest")
fi
# Private repositories: a Secret Manager secret holding the JSON
# {"https://github.com/acme/": "TOKEN"} (see deploy/README.md).
if [ -n "${GIT_CREDENTIALS_SECRET:-}" ]; then
  SECRETS+=(--set-secrets "TICKETFLOW_GIT_CREDENTIALS=${GIT_CREDENTIALS_SECRET}:latest")
fi

# run_step first: its URL is the tasks' target and the OIDC audience.
gcloud functions deploy run-step "${COMMON[@]}" --entry-point run_step --trigger-http \
  --no-allow-unauthenticated --timeout "${RUN_STEP_TIMEOUT_S}s" --concurrency 4 --cpu 1 \
  --set-env-vars "TICKETFLOW_DB_URL=${TICKETFLOW_DB_URL},TICKETFLOW_PROJECT_ID=${PROJECT_ID}" \
  "${SECRETS[@]}"
RUN_STEP_URL="$(region_url run-step)"
gcloud functions deploy index-repository "${COMMON[@]}" --entry-point index_repository \
  --trigger-http --no-allow-unauthenticated --timeout "${INDEX_TIMEOUT_S}s" \
  --memory 2Gi --cpu 1 --concurrency 1 \
  --set-env-vars "TICKETFLOW_DB_URL=${TICKETFLOW_DB_URL},TICKETFLOW_PROJECT_ID=${PROJECT_ID}" \
  "${SECRETS[@]}"
INDEX_URL="$(region_url index-repository)"

ENV="TICKETFLOW_DB_URL=${TICKETFLOW_DB_URL},TICKETFLOW_PROJECT_ID=${PROJECT_ID}"
ENV+=",TICKETFLOW_TASKS_PROJECT_ID=${PROJECT_ID},TICKETFLOW_TASKS_LOCATION=${REGION}"
ENV+=",TICKETFLOW_TASKS_QUEUE=${QUEUE},TICKETFLOW_TASKS_TARGET_URL=${RUN_STEP_URL}"
ENV+=",TICKETFLOW_TASKS_SERVICE_ACCOUNT_EMAIL=${TASKS_SA},TICKETFLOW_TASKS_AUDIENCE=${RUN_STEP_URL}"
ENV+=",TICKETFLOW_TASKS_DISPATCH_DEADLINE_S=${DISPATCH_DEADLINE_S}"
ENV+=",TICKETFLOW_TASKS_INVOKER_EMAILS=${TASKS_SA}"
ENV+=",TICKETFLOW_CORS_ORIGINS=${HOSTING_ORIGIN}"
ENV+=",TICKETFLOW_TASKS_INDEX_QUEUE=${INDEX_QUEUE},TICKETFLOW_TASKS_INDEX_TARGET_URL=${INDEX_URL}"
ENV+=",TICKETFLOW_TASKS_INDEX_DISPATCH_DEADLINE_S=${INDEX_TIMEOUT_S}"
# A deployed function reads repositories by https URL only: no local paths, no file://,
# no plain http (which could reach the metadata server or internal hosts).
ENV+=",TICKETFLOW_REPO_URL_SCHEMES=https,TICKETFLOW_INDEX_DEADLINE_S=$((INDEX_TIMEOUT_S - 120))"

gcloud functions deploy run-step "${COMMON[@]}" --entry-point run_step --trigger-http \
  --no-allow-unauthenticated --timeout "${RUN_STEP_TIMEOUT_S}s" --concurrency 4 --cpu 1 \
  --set-env-vars "$ENV" "${SECRETS[@]}"
gcloud functions add-invoker-policy-binding run-step --region "$REGION" \
  --member "serviceAccount:${TASKS_SA}"

gcloud functions deploy index-repository "${COMMON[@]}" --entry-point index_repository \
  --trigger-http --no-allow-unauthenticated --timeout "${INDEX_TIMEOUT_S}s" \
  --memory 2Gi --cpu 1 --concurrency 1 --set-env-vars "$ENV" "${SECRETS[@]}"
gcloud functions add-invoker-policy-binding index-repository --region "$REGION" \
  --member "serviceAccount:${TASKS_SA}"

gcloud functions deploy start-generation "${COMMON[@]}" --entry-point start_generation \
  --trigger-http --allow-unauthenticated --timeout 60s --set-env-vars "$ENV" "${SECRETS[@]}"

gcloud functions deploy register-repository "${COMMON[@]}" \
  --entry-point register_repository --trigger-http --allow-unauthenticated --timeout 60s \
  --set-env-vars "$ENV" "${SECRETS[@]}"

gcloud functions deploy sweep "${COMMON[@]}" --entry-point sweep --trigger-http \
  --no-allow-unauthenticated --timeout 300s --set-env-vars "$ENV" "${SECRETS[@]}"
gcloud functions add-invoker-policy-binding sweep --region "$REGION" \
  --member "serviceAccount:${TASKS_SA}"
SWEEP_URL="$(region_url sweep)"

gcloud functions deploy on-action-created "${COMMON[@]}" --entry-point on_action_created \
  --trigger-location "$REGION" \
  --trigger-event-filters=type=google.cloud.firestore.document.v1.created \
  --trigger-event-filters=database='(default)' \
  --trigger-event-filters-path-pattern=document='aecs/{aecId}/actions/{actionId}' \
  --trigger-service-account "$RUNTIME_SA" --retry --timeout 120s \
  --set-env-vars "$ENV" "${SECRETS[@]}"

# The web page's direct edits of a ticket, recorded for the metrics (idempotent per
# event id, so --retry is safe).
gcloud functions deploy on-aec-updated "${COMMON[@]}" --entry-point on_aec_updated \
  --trigger-location "$REGION" \
  --trigger-event-filters=type=google.cloud.firestore.document.v1.updated \
  --trigger-event-filters=database='(default)' \
  --trigger-event-filters-path-pattern=document='aecs/{aecId}' \
  --trigger-service-account "$RUNTIME_SA" --retry --timeout 60s \
  --set-env-vars "$ENV" "${SECRETS[@]}"

# -- the sweeper, every minute, with an OIDC token the sweep function accepts -----------
SCHED=(--location "$REGION" --schedule "* * * * *" --uri "$SWEEP_URL" --http-method POST
       --oidc-service-account-email "$TASKS_SA" --oidc-token-audience "$RUN_STEP_URL"
       --attempt-deadline 300s)
if gcloud scheduler jobs describe ticketflow-sweep --location "$REGION" >/dev/null 2>&1; then
  gcloud scheduler jobs update http ticketflow-sweep "${SCHED[@]}"
else
  gcloud scheduler jobs create http ticketflow-sweep "${SCHED[@]}"
fi

# -- rules, indexes and the web page ----------------------------------------------------
npx firebase deploy --project "$PROJECT_ID" --only firestore:rules,firestore:indexes,hosting
echo "deployed: start_generation at $(region_url start-generation)"
echo "          register_repository at $(region_url register-repository)"
