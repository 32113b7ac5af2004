"""Shared torch parts: layers, jets and autograd operators, physics residuals from a problem,
collocation sampling, the training loop and the path from a trained field to a Solution."""

from .jet import AutogradJet, ExplicitJet, Field, Jet, mlp_jet
from .layers import MLP, FourierFeatures, Normalize, PeriodicEncoding, Sine
from .physics import LossWeights, PhysicsLoss
from .trainer import TrainConfig, Trainer, TrainingDiverged, TrainResult

__all__ = ["AutogradJet", "ExplicitJet", "Field", "Jet", "mlp_jet", "MLP", "FourierFeatures",
           "Normalize", "PeriodicEncoding", "Sine", "LossWeights", "PhysicsLoss", "TrainConfig", "Trainer",
           "TrainingDiverged", "TrainResult"]
