// kube-router v2.1.0 for the data-plane test harness, where only its NetworkPolicy controller
// runs (--run-firewall=true --run-router=false --run-service-proxy=false). This is upstream's
// cmd/kube-router/kube-router.go without the pprof listener: same flags, same checks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cloudnativelabs/kube-router/v2/pkg/cmd"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/version"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

func init() {
	// Upstream injects these with -ldflags; tools/build-binaries.sh builds with "-s -w" only.
	if version.Version == "" {
		version.Version = "v2.1.0"
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", err)
		os.Exit(1)
	}
}

func run() error {
	klog.InitFlags(nil)
	config := options.NewKubeRouterConfig()
	config.AddFlags(pflag.CommandLine)
	pflag.Parse()
	// https://github.com/kubernetes/kubernetes/issues/17162
	if err := flag.CommandLine.Parse([]string{}); err != nil {
		return fmt.Errorf("failed to parse flags: %w", err)
	}
	if err := flag.Set("logtostderr", "true"); err != nil {
		return err
	}
	if err := flag.Set("v", config.VLevel); err != nil {
		return err
	}
	if config.HelpRequested {
		pflag.Usage()
		return nil
	}
	if config.Version {
		version.PrintVersion(false)
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("kube-router needs root to program iptables and ipset")
	}
	if config.CleanupConfig {
		cmd.CleanupConfigAndExit()
		return nil
	}
	if config.EnablePprof {
		return fmt.Errorf("--enable-pprof is not supported by this build")
	}
	kr, err := cmd.NewKubeRouterDefault(config)
	if err != nil {
		return fmt.Errorf("failed to parse kube-router config: %w", err)
	}
	if err := kr.Run(); err != nil {
		return fmt.Errorf("failed to run kube-router: %w", err)
	}
	return nil
}
