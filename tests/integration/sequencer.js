// Integration test files share one cluster: run them in name order, teardown last.
const Sequencer = require('@jest/test-sequencer').default;
class ByName extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}
module.exports = ByName;
