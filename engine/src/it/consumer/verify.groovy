// Each run of the consumer printed what it should: the vector kernels with --add-modules jdk.incubator.vector,
// else the scalar kernels and exactly one warning saying how to enable the fast path.
def target = new File(basedir, 'target')
def expectedY = 'y: -1.3416 -0.4472 0.4472 1.3416'   // (x - 2.5) / sqrt(1.25 + 1e-5) for x = 1, 2, 3, 4
def warning = 'vecnorm runs its scalar kernels (several times slower): the jdk.incubator.vector module is not ' +
        'loaded; start java with --add-modules jdk.incubator.vector'
[
    'class-path-vector': [module: 'unnamed', vector: true],
    'class-path-scalar': [module: 'unnamed', vector: false],
    'module-path-vector': [module: 'dev.vecnorm.engine', vector: true],
    'module-path-scalar': [module: 'dev.vecnorm.engine', vector: false],
].each { run, want ->
    def text = new File(target, run + '.txt').getText('UTF-8')
    def lines = text.readLines()
    assert lines.contains('module: ' + want.module) : run + ':\n' + text
    assert lines.contains(expectedY) : run + ':\n' + text
    if (want.module != 'unnamed') {
        // A named module exports its API only; the kernel SPI stays internal.
        assert lines.contains('internal kernels exported: false') : run + ':\n' + text
    }
    def kernels = lines.find { it.startsWith('kernels: ') }
    assert kernels != null : run + ':\n' + text
    def warnings = lines.count { it.contains('vecnorm runs its scalar kernels') }
    if (want.vector) {
        assert kernels ==~ /kernels: vector-\d+/ : run + ':\n' + text
        assert warnings == 0 : run + ':\n' + text
    } else {
        assert kernels == 'kernels: scalar' : run + ':\n' + text
        assert warnings == 1 : run + ':\n' + text
        assert lines.any { it.endsWith(warning) } : run + ':\n' + text
    }
}
return true
