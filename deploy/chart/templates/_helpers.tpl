{{- define "gitward.labels" -}}
app.kubernetes.io/name: gitward-application-controller
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: gitward
{{- end -}}
{{- define "gitward.selector" -}}
app.kubernetes.io/name: gitward-application-controller
{{- end -}}
