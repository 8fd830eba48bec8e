// Renders the README's Argo CD notification body (body.tmpl) the way Argo CD's notifications
// engine renders a webhook body: Go's text/template over the Application as an unstructured map
// (argoproj/notifications-engine, pkg/services/webhook.go). The test compares what it printed for
// test/support/argocd/application-*.json with test/support/argocd/rendered-*.json.
//
//	cd scripts/argocd-template && GO111MODULE=off go run main.go ../../test/support/argocd/application-running.json
package main

import (
	"encoding/json"
	"os"
	"text/template"
)

func main() {
	body, err := os.ReadFile("body.tmpl")
	if err != nil {
		panic(err)
	}
	t := template.Must(template.New("body").Parse(string(body)))
	for _, f := range os.Args[1:] {
		raw, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var app map[string]interface{}
		if err := json.Unmarshal(raw, &app); err != nil {
			panic(err)
		}
		if err := t.Execute(os.Stdout, map[string]interface{}{"app": app, "context": map[string]string{}}); err != nil {
			panic(err)
		}
		os.Stdout.WriteString("\n")
	}
}
