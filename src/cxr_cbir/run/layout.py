"""One run's output layout: the paths the workflow's rules write and the query engine and
server read, written once. Paths are strings relative to the working directory, so that
the rules can pass Snakemake wildcards (``layout.model("{condition}", "{model}")``).
A scope is a condition's name (its CNN, IG, ATT, severity models) or ``metric`` (dml, ce).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunLayout:
    """Every output path of run ``run`` that more than one place reads."""

    run: str

    @property
    def out(self) -> str:
        return f"results/{self.run}"

    @property
    def manifest(self) -> str:
        """Every film of the archive: path, patient (``group``), view, labels."""
        return f"{self.out}/data/manifest.parquet"

    @property
    def settings(self) -> str:
        """What ``cxr-cbir query`` needs to preprocess and embed a film as the run did."""
        return f"{self.out}/index/settings.json"

    def model(self, scope: str, kind: str) -> str:
        """A trained network's weights (cnn, ig, att, sev; dml, ce; pretrain's cnn)."""
        return f"{self.out}/models/{scope}/{kind}/model.pt"

    def readout(self, scope: str) -> str:
        """cnn_sev: the ridge readout of the CNN's features."""
        return f"{self.out}/models/{scope}/cnn_sev/readout.npz"

    def severity_scaler(self, scope: str) -> str:
        """sev: the mean and scale of its standardised targets."""
        return f"{self.out}/models/{scope}/sev/scaler.npz"

    def index(self, scope: str, method: str) -> str:
        """A method's search index (vectors, ids, metric)."""
        return f"{self.out}/index/{scope}/{method}.npz"

    def index_table(self, scope: str, method: str) -> str:
        """The indexed films' fields, row for row with :meth:`index`."""
        return f"{self.out}/index/{scope}/{method}.parquet"

    def saliency_maps(self, scope: str) -> str:
        return f"{self.out}/saliency/{scope}/maps.npy"

    def saliency_ids(self, scope: str) -> str:
        return f"{self.out}/saliency/{scope}/ids.parquet"

    def seg_member(self, member: str) -> str:
        return f"{self.out}/segmentation/members/{member}/model.pt"

    @property
    def seg_ensemble(self) -> str:
        """The lung ensemble's member weights (and test-time flips)."""
        return f"{self.out}/segmentation/ensemble.csv"
