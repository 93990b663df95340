// Package server is predictd's HTTP front end on fasthttp: the TF Serving
// REST and Open Inference Protocol v2 APIs, health, readiness, metrics and
// the admin endpoints. It maps errors to statuses in one place and holds no
// model logic. Not built yet: the serving-daemon issue adds it.
package server
