{{/*
Helpers of the dbwarden chart. test/chart/ renders these templates with a small Go-template
renderer when no helm binary is available: keep to the functions it knows (it refuses others).
*/}}

{{/* Chart name, a DNS label. */}}
{{- define "dbwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Base name of every object: the release name, with the chart name unless it already holds it. */}}
{{- define "dbwarden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of the objects of one run: <fullname>-upgrade or <fullname>-downgrade, so an explicit
downgrade never replaces the upgrade's objects. The base is cut to 44 characters: with
"-downgrade" and the 9-character hash suffix of the GitOps Job name, a name stays within 63.
*/}}
{{- define "dbwarden.runName" -}}
{{- printf "%s-%s" (include "dbwarden.fullname" . | trunc 44 | trimSuffix "-") .Values.mode -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "dbwarden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dbwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that identify the objects of one run. */}}
{{- define "dbwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dbwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{/*
Annotations that order an object: called with (list $ OFFSET), its weight is hookWeight + OFFSET.
With Helm hooks: a pre-install,pre-upgrade hook, deleted only before the next run creates it again
(before-hook-creation), so the logs of a failed Job stay readable. Never a rollback hook: Helm runs
the older chart's hooks on rollback, and a downgrade is an explicit operation (docs/deploy.md).
Without Helm hooks: nothing, or an Argo CD sync wave with the same weight.
*/}}
{{- define "dbwarden.orderAnnotations" -}}
{{- $root := index . 0 -}}
{{- $weight := add (int $root.Values.hookWeight) (index . 1) -}}
{{- if $root.Values.useHelmHooks -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ $weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation
{{- else if $root.Values.gitops.argocdSyncWaves -}}
argocd.argoproj.io/sync-wave: {{ $weight | quote }}
{{- end -}}
{{- end -}}

{{/* Namespace of the component Secrets and of the Role that reaches them. */}}
{{- define "dbwarden.secretNamespace" -}}
{{- .Values.kubernetesCredentials.namespace | default .Release.Namespace -}}
{{- end -}}

{{/*
dbwarden.yaml as the ConfigMap holds it: `config` (object or string) as YAML, with
credentials.kubernetes written from kubernetesCredentials, so the config and the Role always name
the same Secrets.
*/}}
{{- define "dbwarden.configYaml" -}}
{{- $config := dict -}}
{{- if kindIs "string" .Values.config -}}
{{- $config = fromYaml .Values.config -}}
{{- if hasKey $config "Error" -}}
{{- fail (printf "config is not a valid YAML mapping: %s" (index $config "Error")) -}}
{{- end -}}
{{- else -}}
{{- $config = deepCopy .Values.config -}}
{{- end -}}
{{- if empty $config -}}
{{- fail "set config (the content of dbwarden.yaml) or existingConfigMap" -}}
{{- end -}}
{{- $credentials := $config.credentials | default dict -}}
{{- if hasKey $credentials "kubernetes" -}}
{{- fail "config.credentials.kubernetes: leave it out and set kubernetesCredentials instead; the chart writes it, so the config and the Role name the same Secrets" -}}
{{- end -}}
{{- if .Values.kubernetesCredentials.enabled -}}
{{- $_ := set $credentials "kubernetes" (dict "namespace" (include "dbwarden.secretNamespace" .) "secretName" .Values.kubernetesCredentials.secretName) -}}
{{- $_ := set $config "credentials" $credentials -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The ConfigMap's data: dbwarden.yaml, and each policy file under the key policies.<file>. */}}
{{- define "dbwarden.configData" -}}
{{- $data := dict "dbwarden.yaml" (include "dbwarden.configYaml" .) -}}
{{- range $file, $content := .Values.policies -}}
{{- $_ := set $data (printf "policies.%s" $file) $content -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Names of the component Secrets dbwarden writes, as a JSON list (the Role's resourceNames). */}}
{{- define "dbwarden.secretNames" -}}
{{- $app := .Values.kubernetesCredentials.app -}}
{{- if not .Values.existingConfigMap -}}
{{- $configApp := (include "dbwarden.configYaml" . | fromYaml).app -}}
{{- if and $app $configApp (ne $app $configApp) -}}
{{- fail (printf "kubernetesCredentials.app %q differs from config.app %q" $app $configApp) -}}
{{- end -}}
{{- $app = $app | default $configApp -}}
{{- end -}}
{{- if not $app -}}
{{- fail "kubernetesCredentials.app is required: the {app} of the Secret names" -}}
{{- end -}}
{{- $names := list -}}
{{- range .Values.kubernetesCredentials.components -}}
{{- $name := $.Values.kubernetesCredentials.secretName | replace "{app}" $app | replace "{component}" . -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$" $name) -}}
{{- fail (printf "Secret name %q (kubernetesCredentials.secretName for component %q) is not a valid Kubernetes name: lowercase letters, digits, '-' and '.'" $name .) -}}
{{- end -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* The container's arguments, as a JSON list (after the image's ENTRYPOINT, dbwarden). */}}
{{- define "dbwarden.args" -}}
{{- $args := list -}}
{{- if eq .Values.mode "downgrade" -}}
{{- $to := required "downgrade.to is required with mode: downgrade (base, or a migration name)" .Values.downgrade.to -}}
{{- /* A Job has no terminal to confirm on: choosing mode: downgrade is the confirmation (docs/deploy.md). */ -}}
{{- $args = list "downgrade" "--to" $to "--config" "/etc/dbwarden/dbwarden.yaml" "--format" "json" "--yes" -}}
{{- if .Values.downgrade.dropRoles -}}
{{- $args = append $args "--drop-roles" -}}
{{- end -}}
{{- else -}}
{{- if ge (int .Values.job.lockWaitSeconds) (int .Values.job.activeDeadlineSeconds) -}}
{{- fail "job.lockWaitSeconds must be below job.activeDeadlineSeconds, so that a lock wait ends with dbwarden's message rather than a killed pod" -}}
{{- end -}}
{{- $args = list "upgrade" "--config" "/etc/dbwarden/dbwarden.yaml" "--format" "json" "--lock-wait" (toString (int .Values.job.lockWaitSeconds)) -}}
{{- end -}}
{{- range .Values.job.extraArgs -}}
{{- $args = append $args (toString .) -}}
{{- end -}}
{{- toJson $args -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "dbwarden.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
The Job's name. With Helm hooks a fixed name: before-hook-creation deletes the previous Job. Without
hooks, a hash of what the Job does is appended: a Job's pod template cannot be changed, so a new
image, new arguments or a new config make a new Job, and an unchanged release makes none.
*/}}
{{- define "dbwarden.jobName" -}}
{{- if .Values.useHelmHooks -}}
{{- include "dbwarden.runName" . -}}
{{- else -}}
{{- $config := .Values.existingConfigMap -}}
{{- if not .Values.existingConfigMap -}}
{{- $config = include "dbwarden.configData" . -}}
{{- end -}}
{{- $inputs := printf "%s\n%s\n%s" (include "dbwarden.image" .) (include "dbwarden.args" .) $config -}}
{{- printf "%s-%s" (include "dbwarden.runName" .) (sha256sum $inputs | trunc 8) -}}
{{- end -}}
{{- end -}}
