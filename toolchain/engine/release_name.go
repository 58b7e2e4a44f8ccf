// helm-controller's release name shortening (internal/release/name.go at v1.6.4).
//
// Copyright 2023 The Flux authors. Licensed under the Apache License, Version 2.0.

package main

import (
	"crypto/sha256"
	"fmt"
)

// shortenName returns a name of at most 53 characters: a longer one keeps 40 characters and a
// hyphen, then the first 12 hex characters of its SHA-256.
func shortenName(name string) string {
	if len(name) <= 53 {
		return name
	}
	const maxLength = 53
	const shortHashLength = 12
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	shortName := name[:maxLength-(shortHashLength+1)] + "-"
	return shortName + sum[:shortHashLength]
}
