// The engine's log lines (libtorch's warnings, the engine's own notes) become events of the
// library's logger: one JSON line each, with the event name and the message, at their level.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/common/log.js';
import { engineLogCallback } from '../../lib/service/engine-log.js';

describe('engineLogCallback', () => {
  it('logs libtorch lines as torch.warning events and the engine\'s notes as engine.log', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const onLog = engineLogCallback(logger);
    onLog('warn', 'Could not do the fast thing (libtorch Foo.cpp:56)');
    onLog('error', 'something worse');
    onLog('info', 'int8 weights: quantizing in memory');
    expect(lines).toHaveLength(3);
    const [warn, error, info] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warn).toMatchObject({ level: 'WARN', event: 'torch.warning', message: 'Could not do the fast thing (libtorch Foo.cpp:56)' });
    expect(error).toMatchObject({ level: 'ERROR', event: 'torch.warning', message: 'something worse' });
    // The engine's own notes are not libtorch's warnings.
    expect(info).toMatchObject({ level: 'INFO', event: 'engine.log', message: 'int8 weights: quantizing in memory' });
  });
});
