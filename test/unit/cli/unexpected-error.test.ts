import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';

// A command that fails with an error that is not a CallstreamError: a bug of ours.
vi.mock('../../../src/cli/commands/query.js', () => ({
  query: async () => {
    throw new TypeError('boom');
  },
}));

describe('an unexpected error', () => {
  it('is not dressed up as a user\'s mistake: main() rethrows it, for bin/callstream.js to print with its stack', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(main(['query', 'SELECT 1'])).rejects.toThrow(new TypeError('boom'));
      expect(error).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
    }
  });
});
