import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Requests Node's HTTP parser refuses before any handler sees them (a malformed request line, a
 * header over the limit) get the same JSON error body as every other error, instead of an empty
 * 400 or 431. The socket is closed after the answer: its stream position is unknown.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: tooLarge
        ? 'The request headers are larger than the server accepts (16 KB); send fewer or shorter headers.'
        : `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}); check the request line, the headers and the body framing.`,
      code: tooLarge ? 'request_header_fields_too_large' : 'bad_request',
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
}
