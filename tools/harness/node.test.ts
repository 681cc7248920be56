import { describe, expect, it } from 'vitest';
import {
  cniConfig,
  containerdConfig,
  IMAGES,
  kubeletConfig,
  NODE_APISERVER_ARGS,
  CLUSTER_DNS_IP,
  outsideAddress,
} from './node.ts';

describe('node configuration', () => {
  it('containerd: own socket and state, local pause image, no oom_score_adj writes (no CAP_SYS_RESOURCE)', () => {
    const toml = containerdConfig('/tmp/n');
    expect(toml).toContain('address = "/tmp/n/containerd.sock"');
    expect(toml).toContain('root = "/tmp/n/containerd/root"');
    expect(toml).toContain(`sandbox_image = "${IMAGES.pause}"`);
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('conf_dir = "/tmp/n/cni/net.d"');
  });

  it('CNI: a bridge with host-local addresses from the pod CIDR, then portmap', () => {
    const conf = JSON.parse(cniConfig('10.244.3.0/24', '/tmp/n', 'node-a')) as {
      name: string;
      plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[];
    };
    expect(conf.name).toBe('node-a');
    expect(conf.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(conf.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet).toBe('10.244.3.0/24');
  });

  it('kubelet: cgroup v1 allowed, cgroupfs, imported images never collected, cluster DNS', () => {
    const yaml = kubeletConfig('/tmp/n');
    expect(yaml).toContain('failCgroupV1: false');
    expect(yaml).toContain('cgroupDriver: cgroupfs');
    expect(yaml).toContain('imageGCHighThresholdPercent: 100');
    expect(yaml).toContain(`clusterDNS: [${CLUSTER_DNS_IP}]`);
    expect(yaml).toContain('containerRuntimeEndpoint: unix:///tmp/n/containerd.sock');
  });

  it('asks the apiserver to reach kubelets by InternalIP', () => {
    expect(NODE_APISERVER_ARGS).toContain('--kubelet-preferred-address-types=InternalIP,Hostname');
  });

  it('gives an outside host the address it names, or the 10th address of its CIDR', () => {
    expect(outsideAddress('198.51.100.7')).toBe('198.51.100.7');
    expect(outsideAddress('192.168.60.0/24')).toBe('192.168.60.10');
    expect(outsideAddress('203.0.113.77/24')).toBe('203.0.113.10');
    expect(outsideAddress('10.8.0.0/14')).toBe('10.8.0.10');
    expect(() => outsideAddress('192.168.60.0/30')).toThrow(/prefix of \/28 or shorter/);
    expect(() => outsideAddress('peer')).toThrow(/cidrOrIp "peer" is not an IPv4/);
  });
});
