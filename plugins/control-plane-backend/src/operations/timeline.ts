/**
 * An operation's timeline is the events of its resource's stream that carry its id: one
 * row serves both. On the stream an event names its operation (and step); the timeline,
 * already the operation's, reads without that.
 */

/** How an operation's event reads on its resource's stream. */
export function streamMessage(
  operationType: string,
  message: string,
  step?: string | null,
): string {
  return `${prefix(operationType, step)}${message}`;
}

/** How a stream event of an operation reads on the operation's timeline. */
export function timelineMessage(
  operationType: string,
  message: string,
  step?: string | null,
): string {
  const named = prefix(operationType, step);
  return message.startsWith(named) ? message.slice(named.length) : message;
}

/** The stream's data of an event: what the timeline has, and the step. */
export function streamData(
  data: Record<string, unknown> | undefined,
  step?: string,
): Record<string, unknown> | undefined {
  return step ? { ...data, step } : data;
}

/** The timeline's data of a stream event: without the step the stream adds. */
export function timelineData(
  data: Record<string, unknown> | undefined,
  step?: string | null,
): Record<string, unknown> | undefined {
  if (!data || !step || data.step !== step) return data;
  const { step: _step, ...rest } = data;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function prefix(operationType: string, step?: string | null) {
  return step ? `${operationType} · ${step}: ` : `${operationType}: `;
}
