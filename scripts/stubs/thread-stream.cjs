// Bundled in place of `thread-stream`. pino loads it at start-up only to offer transports (logging in a
// worker thread); claude-creds writes its log synchronously to stderr and never asks for a transport, so
// the ~8 ms that loading it costs would be paid on every start for nothing. Asking for one fails loudly.
'use strict';

module.exports = class ThreadStream {
  constructor() {
    throw new Error('pino transports are not part of the claude-creds bundle');
  }
};
