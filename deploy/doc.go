// Package deploy holds the CloudFormation templates, the Athena DDL and the image build of
// logarchive, and their tests (cfn-lint, deployments to moto_server, IAM policies against the API
// calls the commands make). See README.md in this directory.
package deploy

//go:generate go run ./gen -dir .
