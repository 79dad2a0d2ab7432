{{/*
Environment of one zero-cache container.
Call with (dict "root" $ "role" "single-node"|"replication-manager"|"view-syncer" "values" <role values>).
Only what the user set, or what the topology needs, is emitted, so the image's own defaults stay in force.
*/}}
{{- define "zero-cache.containerEnv" -}}
{{- $root := .root -}}
{{- $role := .role -}}
{{- $c := $root.Values.common -}}
{{- $serves := ne $role "replication-manager" -}}
{{- $backup := include "zero-cache.backupUrl" $root -}}
{{- $extra := concat ($root.Values.extraEnv | default list) (.values.extraEnv | default list) -}}
{{- $ownTaskId := false -}}
{{- range $extra }}{{ if eq (toString .name) "ZERO_TASK_ID" }}{{ $ownTaskId = true }}{{ end }}{{ end -}}
{{- /*
Identity: zero-cache wants a globally unique task ID, and without one picks a random string, which
begins with "-" and a letter about once in 75 starts; it passes its settings to workers as flags,
so such an ID kills them. The pod's namespace and name are unique and begin with a letter.
*/}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- if not $ownTaskId }}
- name: ZERO_TASK_ID
  value: "$(POD_NAMESPACE).$(POD_NAME)"
{{- end }}
{{- /* Topology */}}
{{- if eq $role "replication-manager" }}
- name: ZERO_NUM_SYNC_WORKERS
  value: "0"
- name: ZERO_CHANGE_STREAMER_PORT
  value: {{ include "zero-cache.changeStreamerPort" $root | quote }}
{{- if not (include "zero-cache.has" (list $root "changeStreamerUri")) }}
- name: ZERO_CHANGE_STREAMER_ADDRESS
  value: {{ printf "%s:%s" (include "zero-cache.roleName" (dict "root" $root "role" "replication-manager")) (include "zero-cache.changeStreamerPort" $root) | quote }}
{{- end }}
{{- else }}
- name: ZERO_PORT
  value: {{ .values.service.port | default 4848 | quote }}
{{- end }}
{{- if eq $role "view-syncer" }}
{{- if and (eq (.values.changeStreamerMode | default "uri") "uri") (include "zero-cache.has" (list $root "changeStreamerUri")) }}
- name: ZERO_CHANGE_STREAMER_URI
  value: {{ printf "ws://%s:%s/" (include "zero-cache.roleName" (dict "root" $root "role" "replication-manager")) (include "zero-cache.changeStreamerPort" $root) | quote }}
{{- else }}
- name: ZERO_CHANGE_STREAMER_MODE
  value: "discover"
{{- end }}
{{- end }}
{{- /* Core */}}
{{- include "zero-cache.env" (dict "name" "ZERO_APP_ID" "value" $c.appId) }}
{{- include "zero-cache.env" (dict "name" "ZERO_APP_PUBLICATIONS" "value" $c.appPublications) }}
{{- include "zero-cache.env" (dict "name" "ZERO_REPLICA_FILE" "value" $c.replicaFile) }}
{{- include "zero-cache.env" (dict "name" "ZERO_AUTO_RESET" "value" $c.autoReset) }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_ADMIN_PASSWORD" "source" $c.adminPassword "key" "admin-password") }}
{{- /* Databases */}}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_UPSTREAM_DB" "source" $c.database.upstream.url "key" "upstream-db") }}
{{- include "zero-cache.env" (dict "name" "ZERO_UPSTREAM_MAX_CONNS" "value" $c.database.upstream.maxConns) }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_CVR_DB" "source" $c.database.cvr.url "key" "cvr-db") }}
{{- include "zero-cache.env" (dict "name" "ZERO_CVR_MAX_CONNS" "value" $c.database.cvr.maxConns) }}
{{- with $c.database.cvr.garbageCollection }}
{{- if include "zero-cache.has" (list $root "cvrGcInactivity") }}
{{- include "zero-cache.env" (dict "name" "ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS" "value" .inactivityThresholdHours) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "cvrGcInitial") }}
{{- include "zero-cache.env" (dict "name" "ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE" "value" .initialBatchSize) }}
{{- include "zero-cache.env" (dict "name" "ZERO_CVR_GARBAGE_COLLECTION_INITIAL_INTERVAL_SECONDS" "value" .initialIntervalSeconds) }}
{{- end }}
{{- end }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_CHANGE_DB" "source" $c.database.change.url "key" "change-db") }}
{{- include "zero-cache.env" (dict "name" "ZERO_CHANGE_MAX_CONNS" "value" $c.database.change.maxConns) }}
{{- /* Litestream backup: the URL on the role that backs up (replication manager, or single node); location and credentials on every role that restores. */}}
{{- if and $backup (ne $role "view-syncer") }}
- name: ZERO_LITESTREAM_BACKUP_URL
  value: {{ $backup | quote }}
{{- end }}
{{- with $c.litestream }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_CHECKPOINT_THRESHOLD_MB" "value" .checkpointThresholdMb) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_INCREMENTAL_BACKUP_INTERVAL_MINUTES" "value" .incrementalBackupIntervalMinutes) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_SNAPSHOT_BACKUP_INTERVAL_HOURS" "value" .snapshotBackupIntervalHours) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_RESTORE_PARALLELISM" "value" .restoreParallelism) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_LOG_LEVEL" "value" .logLevel) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_MULTIPART_CONCURRENCY" "value" .multipartConcurrency) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_MULTIPART_SIZE" "value" .multipartSize) }}
{{- if include "zero-cache.has" (list $root "litestreamV5Backup") }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_BACKUP_USING_V5" "value" .backupUsingV5) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_INCREMENTAL_BACKUP_INTERVAL_SECONDS" "value" .incrementalBackupIntervalSeconds) }}
{{- end }}
{{- end }}
{{- if $root.Values.s3.enabled }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "AWS_ACCESS_KEY_ID" "source" $root.Values.s3.accessKey "key" "s3-access-key") }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "AWS_SECRET_ACCESS_KEY" "source" $root.Values.s3.secretKey "key" "s3-secret-key") }}
{{- if $root.Values.s3.region }}
{{- if include "zero-cache.has" (list $root "litestreamRegion") }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_REGION" "value" $root.Values.s3.region) }}
{{- end }}
{{- include "zero-cache.env" (dict "name" "AWS_REGION" "value" $root.Values.s3.region) }}
{{- end }}
{{- if $root.Values.s3.endpoint }}
{{- if include "zero-cache.has" (list $root "litestreamEndpoint") }}
{{- include "zero-cache.env" (dict "name" "ZERO_LITESTREAM_ENDPOINT" "value" $root.Values.s3.endpoint) }}
{{- else }}
{{- include "zero-cache.env" (dict "name" "AWS_ENDPOINT_URL" "value" $root.Values.s3.endpoint) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* Performance and logging */}}
{{- include "zero-cache.env" (dict "name" "ZERO_REPLICA_VACUUM_INTERVAL_HOURS" "value" $c.performance.replicaVacuumIntervalHours) }}
{{- include "zero-cache.env" (dict "name" "ZERO_INITIAL_SYNC_TABLE_COPY_WORKERS" "value" $c.performance.initialSyncTableCopyWorkers) }}
{{- with $c.logging }}
{{- include "zero-cache.env" (dict "name" "ZERO_LOG_FORMAT" "value" .format) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LOG_LEVEL" "value" .level) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LOG_SLOW_HYDRATE_THRESHOLD" "value" .slowHydrateThreshold) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LOG_SLOW_ROW_THRESHOLD" "value" .slowRowThreshold) }}
{{- include "zero-cache.env" (dict "name" "ZERO_LOG_IVM_SAMPLING" "value" .ivmSampling) }}
{{- if .otel.enable }}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- include "zero-cache.env" (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" .otel.endpoint) }}
{{- if .otel.headers }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ include "zero-cache.fullname" $root }}
      key: otel-headers
{{- end }}
{{- include "zero-cache.env" (dict "name" "OTEL_RESOURCE_ATTRIBUTES" "value" .otel.resourceAttributes) }}
{{- include "zero-cache.env" (dict "name" "OTEL_NODE_RESOURCE_DETECTORS" "value" .otel.nodeResourceDetectors) }}
{{- end }}
{{- end }}
{{- /*
Metrics: zero-cache runs several worker processes, each with its own OpenTelemetry SDK. A
Prometheus exporter in each would compete for one port (only the first binds), so every worker
pushes OTLP to the collector sidecar, which serves all of them on metrics.port. The export interval
must not be shorter than the export timeout (the SDK refuses to start), so both are set.
*/}}
{{- with $root.Values.metrics }}
{{- if .enabled }}
- name: OTEL_METRICS_EXPORTER
  value: "otlp"
- name: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  value: {{ printf "http://localhost:%d/v1/metrics" (int .collector.otlpPort) | quote }}
- name: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL
  value: "http/json"
- name: OTEL_METRIC_EXPORT_INTERVAL
  value: {{ mul (int .exportIntervalSeconds) 1000 | quote }}
- name: OTEL_METRIC_EXPORT_TIMEOUT
  value: {{ mul (min (int .exportIntervalSeconds) 30) 1000 | quote }}
{{- end }}
{{- end }}
{{- /* Serving roles only: clients, auth, API server, query engine */}}
{{- if $serves }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_AUTH_SECRET" "source" $c.auth.secret "key" "auth-secret") }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_AUTH_JWK" "source" $c.auth.jwk "key" "auth-jwk") }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" "ZERO_AUTH_JWKS_URL" "source" $c.auth.jwksUrl "key" "auth-jwks-url") }}
{{- with $c.api }}
{{- $mutatePrefix := ternary "ZERO_MUTATE" "ZERO_PUSH" (eq (include "zero-cache.has" (list $root "mutateUrl")) "true") -}}
{{- $queryPrefix := "ZERO_QUERY" -}}
{{- if include "zero-cache.has" (list $root "getQueriesUrl") }}{{ $queryPrefix = "ZERO_GET_QUERIES" }}{{ end -}}
{{- if include "zero-cache.has" (list $root "pullUrl") }}{{ $queryPrefix = "ZERO_PULL" }}{{ end -}}
{{- include "zero-cache.env" (dict "name" (printf "%s_URL" $mutatePrefix) "value" .mutateUrl) }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" (printf "%s_API_KEY" $mutatePrefix) "source" .mutateApiKey "key" "mutate-api-key") }}
{{- if .mutateForwardCookies }}
- name: {{ $mutatePrefix }}_FORWARD_COOKIES
  value: "true"
{{- end }}
{{- include "zero-cache.env" (dict "name" (printf "%s_URL" $queryPrefix) "value" .queryUrl) }}
{{- include "zero-cache.secretEnv" (dict "root" $root "name" (printf "%s_API_KEY" $queryPrefix) "source" .queryApiKey "key" "query-api-key") }}
{{- if .queryForwardCookies }}
- name: {{ $queryPrefix }}_FORWARD_COOKIES
  value: "true"
{{- end }}
{{- if include "zero-cache.has" (list $root "allowedClientHeaders") }}
{{- include "zero-cache.env" (dict "name" "ZERO_MUTATE_ALLOWED_CLIENT_HEADERS" "value" .mutateAllowedClientHeaders) }}
{{- include "zero-cache.env" (dict "name" "ZERO_QUERY_ALLOWED_CLIENT_HEADERS" "value" .queryAllowedClientHeaders) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "allowedRequestHeaders") }}
{{- include "zero-cache.env" (dict "name" "ZERO_MUTATE_ALLOWED_REQUEST_HEADERS" "value" .mutateAllowedRequestHeaders) }}
{{- include "zero-cache.env" (dict "name" "ZERO_QUERY_ALLOWED_REQUEST_HEADERS" "value" .queryAllowedRequestHeaders) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "enableCrudMutations") }}
{{- include "zero-cache.env" (dict "name" "ZERO_ENABLE_CRUD_MUTATIONS" "value" .enableCrudMutations) }}
{{- end }}
{{- end }}
{{- include "zero-cache.env" (dict "name" "ZERO_PER_USER_MUTATION_LIMIT_MAX" "value" $c.rateLimiting.perUserMutationLimitMax) }}
{{- include "zero-cache.env" (dict "name" "ZERO_PER_USER_MUTATION_LIMIT_WINDOW_MS" "value" $c.rateLimiting.perUserMutationLimitWindowMs) }}
{{- with $c.advanced }}
{{- if .lazyStartup }}
- name: ZERO_LAZY_STARTUP
  value: "true"
{{- end }}
{{- if include "zero-cache.has" (list $root "enableQueryPlanner") }}
{{- include "zero-cache.env" (dict "name" "ZERO_ENABLE_QUERY_PLANNER" "value" .enableQueryPlanner) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "yieldThreshold") }}
{{- include "zero-cache.env" (dict "name" "ZERO_YIELD_THRESHOLD_MS" "value" .yieldThresholdMs) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "replicaPageCacheSize") }}
{{- include "zero-cache.env" (dict "name" "ZERO_REPLICA_PAGE_CACHE_SIZE_KIB" "value" .replicaPageCacheSizeKib) }}
{{- end }}
{{- if and .websocketCompression (include "zero-cache.has" (list $root "websocketCompression")) }}
- name: ZERO_WEBSOCKET_COMPRESSION
  value: "true"
{{- include "zero-cache.env" (dict "name" "ZERO_WEBSOCKET_COMPRESSION_OPTIONS" "value" .websocketCompressionOptions) }}
{{- end }}
{{- if include "zero-cache.has" (list $root "websocketMaxPayload") }}
{{- include "zero-cache.env" (dict "name" "ZERO_WEBSOCKET_MAX_PAYLOAD_BYTES" "value" .websocketMaxPayloadBytes) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* Every role */}}
{{- include "zero-cache.env" (dict "name" "ZERO_STORAGE_DB_TMP_DIR" "value" $c.advanced.storageTmpDir) }}
{{- if not $c.advanced.enableTelemetry }}
{{- if include "zero-cache.has" (list $root "enableTelemetry") }}
- name: ZERO_ENABLE_TELEMETRY
  value: "false"
{{- end }}
- name: DO_NOT_TRACK
  value: "1"
{{- end }}
{{- range $e := $extra }}
{{- /* A number or boolean given as value is quoted (EnvVar values are strings), whole numbers exactly. */}}
{{- if hasKey $e "value" }}
- {{ toYaml (set (deepCopy $e) "value" (include "zero-cache.string" $e.value)) | indent 2 | trim }}
{{- else }}
- {{ toYaml $e | indent 2 | trim }}
{{- end }}
{{- end }}
{{- end -}}

{{/* envFrom of one container: the global extraEnvFrom, then the role's. */}}
{{- define "zero-cache.containerEnvFrom" -}}
{{- $list := concat (.root.Values.extraEnvFrom | default list) (.values.extraEnvFrom | default list) -}}
{{- with $list }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
