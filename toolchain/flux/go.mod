module gitops-ci.local/toolchain/flux

go 1.26.0

// The Flux CLI, a test-only oracle (tests compare renders with `flux build kustomization`).
// Not a `tool` directive like the other tools: flux2's go.mod has replace directives, so
// neither `go install` nor a tool module can build it. toolchain/install.sh downloads this
// module version (checked against go.sum), copies it and builds ./cmd/flux inside the copy,
// with flux2's own go.mod and go.sum.
require github.com/fluxcd/flux2/v2 v2.9.5
