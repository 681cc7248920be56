package main

import (
	_ "github.com/coredns/coredns/core/plugin" // registers the default plugin set
	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
