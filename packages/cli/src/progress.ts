import cliProgress from 'cli-progress';

/** A step counter shown as a progress bar on a terminal (and silent elsewhere). */
export interface Progress {
  /**
   * Marks one step done.
   * @param label - what is being done next
   */
  tick(label?: string): void;
  /** Removes the bar. */
  stop(): void;
}

/**
 * Starts a progress bar of `total` steps on `stream`, or a silent no-op when `stream` is undefined
 * (not a terminal, `--json`, CI), so long commands never mix bars into machine-readable output.
 * @param total - number of steps
 * @param stream - terminal stream to draw on
 * @param label - the first step's label
 * @returns the progress handle
 * @example
 * ```ts
 * const p = startProgress(3, process.stderr, 'loading');
 * p.tick('checking');
 * p.stop();
 * ```
 */
export function startProgress(total: number, stream: NodeJS.WriteStream | undefined, label = ''): Progress {
  if (!stream) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: ' {bar} {value}/{total} {label}',
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label });
  return {
    tick: (next = '') => bar.increment(1, { label: next }),
    stop: () => bar.stop(),
  };
}
