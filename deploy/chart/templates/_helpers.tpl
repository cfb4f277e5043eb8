{{- define "gitward.labels" -}}
app.kubernetes.io/name: gitward-application-controller
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: gitward
{{- end -}}
{{- define "gitward.selector" -}}
app.kubernetes.io/name: gitward-application-controller
{{- end -}}
{{- define "gitward.serverLabels" -}}
app.kubernetes.io/name: gitward-server
app.kubernetes.io/component: server
app.kubernetes.io/part-of: gitward
{{- end -}}
{{- define "gitward.serverSelector" -}}
app.kubernetes.io/name: gitward-server
{{- end -}}
{{- define "gitward.serverScheme" -}}
{{- if .Values.server.insecure }}HTTP{{ else }}HTTPS{{ end -}}
{{- end -}}
