"""torchvision / torchxrayvision weights, fetched through the library's own cache and
written in one model family's parameter names (the run's weights-only init file)."""

from cxr_cbir.models.pretrained import cache_file, family_state
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import save_checkpoint

log = runlog.setup(snakemake.log[0])
spec, family = snakemake.params.spec, snakemake.wildcards.family
state = family_state(spec, family)
log.info(
    "%s (%s) for %s: %d tensors", spec, cache_file(spec, snakemake.params.arch), family, len(state)
)
save_checkpoint(state, snakemake.output[0])
