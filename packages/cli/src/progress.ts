import type { ResourceEvent } from '@idp-multicloud/plugin-control-plane-common';

/** Shows a saga's progress while the CLI waits. */
export interface Progress {
  event(event: ResourceEvent): void;
  stop(): void;
}

type StepState =
  | 'running'
  | 'retrying'
  | 'done'
  | 'failed'
  | 'compensating'
  | 'undone';

const marks: Record<StepState, string> = {
  running: '…',
  retrying: '↻',
  done: '✓',
  failed: '✗',
  compensating: '↶',
  undone: '↶',
};

const time = (at: string) => new Date(at).toISOString().slice(11, 19);

/** One line per event: for logs, pipes and CI. */
function plainProgress(out: NodeJS.WritableStream): Progress {
  return {
    event: e => out.write(`${time(e.at)} ${e.ref}: ${e.message}\n`),
    stop: () => undefined,
  };
}

/**
 * A live view on a terminal: one line per saga step, redrawn in place as steps start, retry,
 * finish or are compensated, under the resource's state.
 */
function liveProgress(out: NodeJS.WriteStream, title: string): Progress {
  const steps = new Map<string, { state: StepState; note: string }>();
  let state = '';
  let last = '';
  let drawn = 0;
  let frame = 0;
  const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  const draw = () => {
    const width = out.columns ?? 100;
    const lines = [
      `${title}${state ? `  ${state}` : ''}`,
      ...[...steps].map(([name, s]) => {
        const mark =
          s.state === 'running'
            ? spinner[frame % spinner.length]
            : marks[s.state];
        return `  ${mark} ${name.padEnd(22)} ${s.note}`;
      }),
      last ? `  ${last}` : '',
    ].map(l => (l.length > width - 1 ? `${l.slice(0, width - 2)}…` : l));
    out.write(`${drawn ? `\x1b[${drawn}A` : ''}\x1b[J${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(() => {
    frame += 1;
    if ([...steps.values()].some(s => s.state === 'running')) draw();
  }, 120);
  timer.unref();
  draw();
  return {
    event(e) {
      const step = typeof e.data?.step === 'string' ? e.data.step : undefined;
      const set = (s: StepState, note: string) =>
        step && steps.set(step, { state: s, note });
      switch (e.type) {
        case 'step.started':
          set('running', e.message.replace(/^.*?: /, ''));
          break;
        case 'step.retried':
          set('retrying', e.message.replace(/^.*?: /, ''));
          break;
        case 'step.succeeded':
          set('done', time(e.at));
          break;
        case 'step.failed':
          set('failed', e.message.replace(/^.*?: /, ''));
          break;
        case 'step.compensating':
          set('compensating', 'undoing');
          break;
        case 'step.compensated':
          set('undone', 'undone');
          break;
        case 'state.changed':
          state = e.state ?? state;
          break;
        default:
          break;
      }
      last = `${time(e.at)} ${e.message}`;
      draw();
    },
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}

/** The live view on a terminal, plain lines anywhere else. */
export function progressFor(title: string, out = process.stderr): Progress {
  return out.isTTY && !process.env.CI
    ? liveProgress(out, title)
    : plainProgress(out);
}
