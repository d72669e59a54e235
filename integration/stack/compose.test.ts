/**
 * docker-compose.yml cannot run on these machines, so this keeps it honest: same services, same port variables
 * with the same defaults, and the same pinned versions as the native stack and the Testcontainers path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { images } from '../harness/containers.ts';
import { loadStackConfig, portDefaults, projectRoot } from './config.ts';

interface ComposeService {
  image?: string;
  ports?: string[];
  command?: string[];
  environment?: Record<string, string>;
}
const composeText = readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const composeOnly = { PARLEY_PROMETHEUS_PORT: 19090, PARLEY_GRAFANA_PORT: 13000 };
const config = loadStackConfig({});

/** Every `${NAME:-default}` in the file, with its default. */
function variables(text: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const [, name, fallback] of text.matchAll(/\$\{(\w+):-([^}]*)\}/g)) {
    if (!found.has(name!)) found.set(name!, new Set());
    found.get(name!)!.add(fallback!);
  }
  return found;
}

test('compose has the native stack services plus Prometheus and Grafana', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), [
    'etcd1',
    'etcd2',
    'etcd3',
    'grafana',
    'kafka',
    'prometheus',
    'registry',
  ]);
});

test('every native port variable appears in compose with the same default, and no unknown one does', () => {
  const used = variables(composeText);
  for (const [name, fallback] of Object.entries(portDefaults)) {
    assert.deepEqual([...(used.get(name) ?? [])], [String(fallback)], `${name} in docker-compose.yml`);
  }
  for (const [name, fallbacks] of used) {
    const expected = (portDefaults as Record<string, number>)[name] ?? (composeOnly as Record<string, number>)[name];
    assert.notEqual(expected, undefined, `docker-compose.yml uses ${name}, which the native stack does not know`);
    assert.deepEqual([...fallbacks], [String(expected)], `default of ${name}`);
  }
});

test('published host ports are bound to loopback and match the native stack', () => {
  // The variable that names the host side of the mapping to `containerPort` (container sides use defaults).
  const withDefaults = (text: string): string => text.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
  const hostPort = (service: string, containerPort: number): string | undefined => {
    for (const port of compose.services[service]?.ports ?? []) {
      const match = /^127\.0\.0\.1:\$\{(\w+):-\d+\}:(.+)$/.exec(port);
      if (match && withDefaults(match[2]!) === String(containerPort)) return match[1];
    }
    return undefined;
  };
  assert.equal(hostPort('kafka', config.kafkaPort), 'PARLEY_KAFKA_PORT');
  assert.equal(hostPort('registry', 8080), 'PARLEY_REGISTRY_PORT');
  for (const [i, member] of config.etcd.entries()) {
    assert.equal(hostPort(member.name, 2379), `PARLEY_ETCD${i + 1}_CLIENT_PORT`);
    assert.equal(hostPort(member.name, 2380), `PARLEY_ETCD${i + 1}_PEER_PORT`);
  }
  for (const service of Object.values(compose.services)) {
    for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${port} must bind loopback only`);
  }
});

test('images pin the same versions as the native stack and the Testcontainers path', () => {
  const pinned = images(config);
  assert.equal(compose.services['kafka']?.image, pinned.kafka);
  assert.equal(compose.services['registry']?.image, pinned.registry);
  for (const member of config.etcd) assert.equal(compose.services[member.name]?.image, pinned.etcd);
  assert.equal(pinned.kafka, `apache/kafka:${config.versions.kafka}`);
});

test('the etcd members form one cluster with the names the native stack uses', () => {
  for (const member of config.etcd) {
    const command = compose.services[member.name]?.command ?? [];
    assert.ok(command.includes(`--name=${member.name}`), `${member.name} --name`);
    const cluster = command.find((c) => c.startsWith('--initial-cluster='));
    assert.equal(cluster, '--initial-cluster=etcd1=http://etcd1:2380,etcd2=http://etcd2:2380,etcd3=http://etcd3:2380');
  }
});
