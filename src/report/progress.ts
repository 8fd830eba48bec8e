/**
 * A progress bar on stderr for long replays. Draws only on a TTY (or when forced), at most ~10
 * times a second, so it never slows the replay nor pollutes piped output.
 */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean = process.stderr.isTTY === true,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 30;
    const filled = Math.round(frac * width);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\n');
  }
}
