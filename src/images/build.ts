import type Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../cli/errors';
import { imageLabels, LABELS } from '../docker/names';
import { IMAGES, contextFiles, imageHash, withParents, type ImageName } from './catalog';

export type ImagePhase = 'current' | 'resolving' | 'building' | 'built' | 'failed';

export interface ImageEvent {
  image: ImageName;
  phase: ImagePhase;
  detail?: string;
}

export interface ImageOutcome {
  image: ImageName;
  tag: string;
  action: 'current' | 'built';
  seconds: number;
  sizeBytes: number;
}

/** Whether an image is present, and built from what this pbx would build it from. */
export async function imageState(
  docker: Docker,
  name: ImageName,
): Promise<{ present: boolean; current: boolean; sizeBytes: number }> {
  try {
    const info = await docker.getImage(IMAGES[name].tag).inspect();
    return {
      present: true,
      current: info.Config?.Labels?.[LABELS.imageHash] === imageHash(name),
      sizeBytes: info.Size,
    };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return { present: false, current: false, sizeBytes: 0 };
    throw error;
  }
}

/**
 * Builds `images` and what they are built from, parents first, skipping those already current
 * (unless `force`). Needs no registry: the base comes from debootstrap, the rest from Debian's
 * packages and Maven.
 */
export async function buildImages(options: {
  docker: Docker;
  images: ImageName[];
  force: boolean;
  signal?: AbortSignal;
  onEvent?: (event: ImageEvent) => void;
}): Promise<ImageOutcome[]> {
  const { docker } = options;
  const emit = options.onEvent ?? (() => undefined);
  const order = [...new Set(options.images.flatMap(withParents))];
  const outcomes: ImageOutcome[] = [];
  let parentRebuilt = new Set<ImageName>();
  for (const name of order) {
    if (options.signal?.aborted) break;
    const started = Date.now();
    const definition = IMAGES[name];
    const state = await imageState(docker, name);
    const forced = options.force && options.images.includes(name);
    if (state.current && !forced && !parentRebuilt.has(definition.from!)) {
      emit({ image: name, phase: 'current', detail: definition.tag });
      outcomes.push({ image: name, tag: definition.tag, action: 'current', seconds: 0, sizeBytes: state.sizeBytes });
      continue;
    }
    emit({ image: name, phase: 'building', detail: definition.tag });
    try {
      if (name === 'base') await buildBase(docker, (detail) => emit({ image: name, phase: 'building', detail }));
      else await buildFromContext(docker, name, (phase, detail) => emit({ image: name, phase, detail }));
    } catch (error) {
      emit({ image: name, phase: 'failed', detail: (error as Error).message });
      throw error;
    }
    parentRebuilt = new Set([...parentRebuilt, name]);
    const seconds = (Date.now() - started) / 1000;
    const { sizeBytes } = await imageState(docker, name);
    emit({ image: name, phase: 'built', detail: `${definition.tag} in ${seconds.toFixed(1)} s` });
    outcomes.push({ image: name, tag: definition.tag, action: 'built', seconds, sizeBytes });
  }
  return outcomes;
}

async function buildFromContext(
  docker: Docker,
  name: ImageName,
  progress: (phase: ImagePhase, detail: string) => void,
): Promise<void> {
  const definition = IMAGES[name];
  const context = await mkdtemp(join(tmpdir(), `pbx-image-${name}-`));
  try {
    for (const [path, file] of Object.entries(contextFiles(name))) {
      const target = join(context, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content);
      await chmod(target, file.mode);
    }
    if (definition.mavenInto) {
      progress('resolving', `resolving ${name} jars with Maven`);
      await resolveMaven(context, definition.mavenInto, name);
    }
    const { pack } = await import('tar-fs');
    const stream = await docker.buildImage(pack(context) as unknown as NodeJS.ReadableStream, {
      t: definition.tag,
      labels: imageLabels(imageHash(name)),
      rm: true,
      forcerm: true,
    });
    const tail: string[] = [];
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error, output: Array<{ error?: string }> | undefined) => {
          const failed = error ?? output?.find((o) => o.error)?.error;
          if (failed) reject(buildFailed(name, String(failed instanceof Error ? failed.message : failed), tail));
          else resolve();
        },
        (event: { stream?: string; error?: string }) => {
          const line = event.stream?.trim();
          if (line) {
            tail.push(line);
            if (tail.length > 15) tail.shift();
            if (line.startsWith('Step ')) progress('building', line);
          }
        },
      );
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

function buildFailed(name: ImageName, message: string, tail: string[]): UserError {
  return new UserError(`Building the ${name} image failed: ${message}`, {
    code: 'IMAGE_BUILD_FAILED',
    hint: tail.length > 0 ? `Last build output:\n  ${tail.join('\n  ')}` : undefined,
    nextSteps: [
      "The images install Debian packages: check that the engine's containers reach your Debian mirror.",
      `Run again with \`pbx images build ${name} --force\`.`,
    ],
  });
}

/** Copies the pom's runtime dependencies into the build context with the host's Maven. */
async function resolveMaven(context: string, into: string, name: ImageName): Promise<void> {
  const { execa } = await import('execa');
  const result = await execa(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(context, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(context, into)}`,
      '-DincludeScope=runtime',
    ],
    { reject: false },
  );
  if ((result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined) {
    throw new UserError(`Maven (mvn) is needed to build the ${name} image and was not found.`, {
      code: 'MAVEN_MISSING',
      nextSteps: ['Install it (Debian: `apt-get install maven`) and run `pbx images build` again.'],
    });
  }
  if (result.exitCode !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join('\n  ');
    throw new UserError(`Maven could not resolve the ${name} artifacts (exit ${result.exitCode}).`, {
      code: 'MAVEN_FAILED',
      hint: output,
      nextSteps: ['Check that Maven reaches its repository (settings in ~/.m2/settings.xml), then run again.'],
    });
  }
  const jars = (await readdir(join(context, into))).filter((f) => f.endsWith('.jar'));
  if (jars.length === 0) throw new UserError(`Maven resolved no jar for the ${name} image.`, { code: 'MAVEN_FAILED' });
}

/** The Debian mirror the host uses, read from its apt sources (deb822 or one-line format). */
export async function debianMirror(): Promise<string> {
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const deb822 = /^URIs:\s*(\S+)/m.exec(text)?.[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text)?.[1];
    const uri = deb822 && !deb822.includes('security') ? deb822 : oneLine;
    if (uri) return uri;
  }
  throw new UserError('Cannot tell which Debian mirror to build the base image from.', {
    code: 'NO_DEBIAN_MIRROR',
    nextSteps: ['Build on a Debian machine whose /etc/apt/sources.list(.d) names a bookworm mirror.'],
  });
}

/** The base image: a minimal Debian bookworm made by debootstrap on the host and imported. */
async function buildBase(docker: Docker, progress: (detail: string) => void): Promise<void> {
  const { execa } = await import('execa');
  if (process.getuid?.() !== 0) {
    throw new UserError('Building the base image needs root (debootstrap creates a Debian root file system).', {
      code: 'BASE_NEEDS_ROOT',
      nextSteps: ['Run `sudo pbx images build`, or `npm run provision` as root.'],
    });
  }
  if (!existsSync('/usr/sbin/debootstrap')) {
    throw new UserError('debootstrap is needed to build the base image and is not installed.', {
      code: 'DEBOOTSTRAP_MISSING',
      nextSteps: ['Install it (`apt-get install debootstrap`) and run `pbx images build` again.'],
    });
  }
  const mirror = await debianMirror();
  const rootfs = await mkdtemp(join(tmpdir(), 'pbx-rootfs-'));
  try {
    progress(`debootstrap bookworm from ${mirror}`);
    const boot = await execa('debootstrap', ['--variant=minbase', 'bookworm', rootfs, mirror], {
      reject: false,
      all: true,
    });
    if (boot.exitCode !== 0) {
      throw new UserError(`debootstrap failed (exit ${boot.exitCode}).`, {
        code: 'DEBOOTSTRAP_FAILED',
        hint: (boot.all ?? '').split('\n').slice(-8).join('\n  '),
        nextSteps: [`Check that ${mirror} is reachable, then run again.`],
      });
    }
    // The same apt sources as the host, so images install from the mirror this machine can reach.
    for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
      if (existsSync(file)) await writeFile(join(rootfs, file), readFileSync(file));
    }
    const files = contextFiles('base');
    await writeFile(join(rootfs, 'etc/apt/apt.conf.d/90pbx'), files['apt.conf']!.content);
    await writeFile(join(rootfs, 'etc/dpkg/dpkg.cfg.d/90pbx-nodoc'), files['dpkg-nodoc.cfg']!.content);
    await execa('sh', [
      '-c',
      `find ${rootfs}/usr/share/doc ${rootfs}/usr/share/man ${rootfs}/usr/share/locale -type f ! -name copyright ! -name locale.alias -delete; rm -rf ${rootfs}/var/lib/apt/lists/* ${rootfs}/var/cache/apt/*.bin ${rootfs}/var/cache/apt/archives/*.deb`,
    ]);
    progress('importing the root file system');
    const tar = execa('tar', ['-C', rootfs, '-c', '.'], { buffer: false, stdout: 'pipe' });
    const [repo, tag] = IMAGES.base.tag.split(':') as [string, string];
    // dockerode returns a promise here although its types say void.
    const importing = docker.importImage(tar.stdout, {
      repo,
      tag,
      changes: [
        `LABEL ${Object.entries(imageLabels(imageHash('base')))
          .map(([key, value]) => `${key}=${value}`)
          .join(' ')}`,
        'CMD ["bash"]',
      ],
    } as never) as unknown as Promise<NodeJS.ReadableStream>;
    const stream = await importing;
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())),
    );
    await tar;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}
