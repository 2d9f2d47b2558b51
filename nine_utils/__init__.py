"""nine_utils: distribution matching with noise-injected Deep InfoMax (NINE), and its yardsticks.

The top level holds what a NINE user reaches for, grouped below by topic. Everything else stays in
its module (``nu.dm.gaussian_w2``, ``nu.anomaly.chi2_score``, ``nu.vae.train_vae``, ...):

========================  =====================================================================
module                    what it holds
========================  =====================================================================
:mod:`.nine`              NINE in one import: gathers the three modules below
:mod:`.channels`          capacities and channel critics (Gaussian, fused Gaussian, uniform)
:mod:`.heads`             NINE heads (Gaussian, uniform)
:mod:`.assembly`          finding the head, checking a critic against it, recalibrate
:mod:`.training`          the InfoMax training loop (numpy or torch input), ``embed``, learning curves
:mod:`.models`            encoders and learned critics (separable, concatenation)
:mod:`.objectives`        InfoNCE, NWJ, JSD, DV; correlated Gaussians with known MI
:mod:`.dm`                distribution-matching scores with noise floors (KS, W2, sliced W2, C2ST, joint)
:mod:`.dm_statistics`     the statistics behind them, batched, and the Gaussian W2
:mod:`.joint`             joint tests: the radial law of ||z||^2 and the chi-square calibration error
:mod:`.baselines`         the fair baselines: standardize and whiten with training statistics
:mod:`.priors`            priors (built-in, scipy, torch, sampled); the maps below importable from it
:mod:`.prior_maps`        the probability integral transform, flows to other priors
:mod:`.data`              digits and other datasets, two-view augmentations
:mod:`.shapes`            rendered shapes with known factors (notebook 05)
:mod:`.disentanglement`   MIG, DCI, random rotations
:mod:`.metrics`           linear and kNN probes
:mod:`.adversarial`       the adversarial prior-matching baseline
:mod:`.vae`               the (beta-)VAE baseline
:mod:`.anomaly`           chi-square anomaly scores, AUROC, false-positive rates
:mod:`.generative`        Fréchet distance and inception score
:mod:`.toy`               the 1-D toys of notebook 02 (analytic transport maps)
:mod:`.seeds`             the seed convention, ``seed_everything``, ``over_seeds``
:mod:`.device`            ``resolve_device``
:mod:`.plotting`          the course's theme and colours, curves over seeds
========================  =====================================================================

The course's own tooling (runner, results files, sweeps, student copies, site, parameter checks)
lives apart, in :mod:`nine_utils.course`.
"""

from . import (
    adversarial,
    anomaly,
    baselines,
    data,
    disentanglement,
    dm,
    generative,
    joint,
    metrics,
    models,
    nine,
    objectives,
    plotting,
    priors,
    seeds,
    shapes,
    toy,
    training,
    vae,
)

# NINE: the heads, their channel critics and capacities
from .nine import (
    GaussianChannelCritic,
    GaussianNINEHead,
    UniformChannelCritic,
    UniformNINEHead,
    gaussian_capacity,
    recalibrate,
    uniform_capacity,
)

# training and models
from .training import TrainHistory, curve_summary, embed, train_infomax
from .models import ConcatCritic, ConvEncoder, MLPEncoder, SeparableCritic, count_parameters, make_critic, mlp
from .objectives import (
    gaussian_log_ratio,
    gaussian_mi,
    get_objective,
    infonce,
    jsd,
    nwj,
    rho_for_mi,
    sample_correlated_gaussians,
)

# distribution matching: scores with noise floors, fair baselines, priors
from .dm import (
    DMScore,
    c2st_score,
    calibration_score,
    dm_report,
    gaussian_w2_score,
    ks_score,
    noise_floor,
    radial_score,
    sliced_w2_score,
    standardize,
    whiten,
)
from .priors import FactorizedPrior, banana_prior, fit_flow, flow_to_prior, gaussian_mixture_prior, get_prior, pit_to_prior
from .adversarial import AdversarialPriorMatching

# data
from .data import DATASET_NAMES, GaussianJitter, TwoViewAugment, dataset_split, digits_split
from .shapes import FACTOR_NAMES, SHAPES, ShapeViews, make_shapes, render_shapes

# evaluation
from .metrics import knn_accuracy, linear_probe_accuracy
from .disentanglement import dci, discretize, mig, random_rotation
from .toy import heldout_infonce

# seeds, device, figures
from .seeds import SeedRuns, over_seeds, seed_everything
from .device import resolve_device
from .plotting import method_color, plot_over_seeds, set_theme

__version__ = "0.1.0"

__all__ = [
    # NINE
    "GaussianNINEHead", "UniformNINEHead", "GaussianChannelCritic", "UniformChannelCritic",
    "gaussian_capacity", "uniform_capacity", "recalibrate",
    # training and models
    "train_infomax", "embed", "TrainHistory", "curve_summary",
    "MLPEncoder", "ConvEncoder", "SeparableCritic", "ConcatCritic", "make_critic", "mlp", "count_parameters",
    "infonce", "nwj", "jsd", "get_objective", "gaussian_mi", "gaussian_log_ratio", "rho_for_mi",
    "sample_correlated_gaussians",
    # distribution matching
    "ks_score", "gaussian_w2_score", "sliced_w2_score", "c2st_score", "radial_score", "calibration_score",
    "noise_floor", "dm_report", "DMScore", "standardize", "whiten",
    "get_prior", "FactorizedPrior", "pit_to_prior", "fit_flow", "flow_to_prior", "banana_prior",
    "gaussian_mixture_prior", "AdversarialPriorMatching",
    # data
    "digits_split", "dataset_split", "DATASET_NAMES", "TwoViewAugment", "GaussianJitter",
    "make_shapes", "render_shapes", "SHAPES", "FACTOR_NAMES", "ShapeViews",
    # evaluation
    "linear_probe_accuracy", "knn_accuracy", "mig", "dci", "discretize", "random_rotation", "heldout_infonce",
    # seeds, device, figures
    "seed_everything", "over_seeds", "SeedRuns", "resolve_device", "set_theme", "method_color", "plot_over_seeds",
    # modules
    "adversarial", "anomaly", "baselines", "data", "disentanglement", "dm", "generative", "joint", "metrics", "models", "nine",
    "objectives", "plotting", "priors", "seeds", "shapes", "toy", "training", "vae",
]
