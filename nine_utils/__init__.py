"""nine_utils: the small shared library of the NINE notebook course.

Modules, one per concern: :mod:`~nine_utils.data`, :mod:`~nine_utils.models`,
:mod:`~nine_utils.objectives`, :mod:`~nine_utils.nine` (noise injection), :mod:`~nine_utils.dm`
(distribution-matching metrics), :mod:`~nine_utils.adversarial`, :mod:`~nine_utils.training`,
:mod:`~nine_utils.transforms` (PIT and flows to other priors), :mod:`~nine_utils.anomaly`, :mod:`~nine_utils.generative`, :mod:`~nine_utils.vae`, :mod:`~nine_utils.toy` (1-D toys),
:mod:`~nine_utils.shapes` (rendered shapes with known factors), :mod:`~nine_utils.disentanglement` (MIG, DCI), :mod:`~nine_utils.metrics`,
:mod:`~nine_utils.course.results`, :mod:`~nine_utils.plotting`; plus :mod:`~nine_utils.course.runner`
for running the course.
"""

from .adversarial import AdversarialPriorMatching
from .anomaly import ALTERNATIVES, auroc, chi2_pvalue, chi2_score, false_positive_rate
from .data import DATASET_NAMES, DigitsSplit, TwoViewAugment, dataset_split, digits_split, load_digits
from .device import resolve_device
from .seeds import SeedRuns, over_seeds, seed_everything
from .disentanglement import DCIResult, MIGResult, dci, discretize, mig, random_rotation
from .generative import frechet_distance, inception_score
from .dm import (
    PRIORS,
    DMScore,
    FactorizedPrior,
    Prior,
    SampledPrior,
    StandardNormal,
    StandardUniform,
    TorchFactorizedPrior,
    dm_report,
    gaussian_w2_score,
    get_prior,
    ks_score,
    noise_floor,
    sliced_w2_score,
)
from .metrics import knn_accuracy, linear_probe_accuracy
from .models import ConcatCritic, ConvEncoder, MLPEncoder, SeparableCritic, count_parameters, make_critic, mlp
from .uniform import UniformChannelCritic
from .nine import FusedGaussianChannelCritic, GaussianChannelCritic, GaussianNINEHead, UniformNINEHead, gaussian_capacity, uniform_capacity
from .objectives import (
    OBJECTIVES,
    SURROGATES,
    donsker_varadhan,
    gaussian_log_ratio,
    gaussian_mi,
    get_objective,
    infonce,
    infonce_ceiling,
    jsd,
    nwj,
    rho_for_mi,
    sample_correlated_gaussians,
)
from .plotting import METHOD_COLORS, method_color, set_theme
from .shapes import (
    CONTINUOUS_FACTORS,
    FACTOR_NAMES,
    SHAPES,
    ShapesData,
    ShapeViews,
    jitter_factors,
    make_shapes,
    render_shapes,
    sample_factors,
)
from .transforms import (
    banana_prior,
    fit_flow,
    flow_to_gaussian,
    flow_to_prior,
    gaussian_mixture_prior,
    pit_to_prior,
)
from .vae import MLPVAE, VAEHistory, gaussian_kl, train_vae, vae_loss
from .toy import TOY_DISTRIBUTIONS, MapFit, heldout_infonce, map_fit, recompute_running_stats, toy_distribution, transport_map
from .training import TrainHistory, embed, train_infomax

__version__ = "0.1.0"

__all__ = [
    "AdversarialPriorMatching", "DMScore", "FactorizedPrior", "GaussianChannelCritic", "GaussianNINEHead", "PRIORS",
    "Prior", "StandardNormal", "StandardUniform", "dm_report", "gaussian_capacity", "gaussian_w2_score",
    "get_prior", "ks_score", "noise_floor", "sliced_w2_score",
    "FusedGaussianChannelCritic", "UniformChannelCritic", "TOY_DISTRIBUTIONS", "MapFit", "heldout_infonce", "map_fit", "recompute_running_stats", "toy_distribution",
    "transport_map", "frechet_distance", "inception_score", "MLPVAE", "VAEHistory", "gaussian_kl", "train_vae", "vae_loss",
    "ALTERNATIVES", "auroc", "chi2_pvalue", "chi2_score", "false_positive_rate", "DATASET_NAMES", "dataset_split", "SampledPrior", "TorchFactorizedPrior", "UniformNINEHead", "uniform_capacity", "banana_prior", "fit_flow",
    "flow_to_gaussian", "flow_to_prior", "gaussian_mixture_prior", "pit_to_prior",
    "ConcatCritic", "ConvEncoder", "DigitsSplit", "METHOD_COLORS", "MLPEncoder", "OBJECTIVES", "SURROGATES",
    "SeparableCritic", "TrainHistory", "TwoViewAugment", "count_parameters", "digits_split", "donsker_varadhan",
    "embed", "gaussian_log_ratio", "gaussian_mi", "get_objective", "infonce", "infonce_ceiling", "jsd",
    "knn_accuracy", "linear_probe_accuracy", "load_digits", "load_results", "make_critic", "method_color", "mlp",
    "nwj", "repo_root", "resolve_device", "resolve_from_root", "rho_for_mi", "sample_correlated_gaussians",
    "save_results", "seed_everything", "set_theme", "summary_table", "train_infomax",
    "DCIResult", "MIGResult", "dci", "discretize", "mig", "random_rotation",
    "CONTINUOUS_FACTORS", "FACTOR_NAMES", "SHAPES", "ShapesData", "ShapeViews", "jitter_factors", "make_shapes",
    "render_shapes", "sample_factors",
]
