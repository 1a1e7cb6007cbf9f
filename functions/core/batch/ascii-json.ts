/**
 * JSON with every non-ASCII character escaped (\uXXXX, surrogate pairs as two): the same value to
 * any JSON parser, and a body every SQS implementation takes. An object key such as
 * `report-😀.csv` otherwise made the local emulator refuse the message and the job stall.
 */
export function asciiJson(value: unknown): string {
  return asciiText(JSON.stringify(value));
}

export function asciiText(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
