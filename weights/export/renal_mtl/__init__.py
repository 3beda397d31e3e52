"""Reference PyTorch modules for the renal-mtl weight format (weights/FORMAT.md)."""

from .config import ConfigError, r18_3p_96_mtdl, r18_3p_96_stdl, validate
from .heads import MLPHead, PLEHead
from .model import RenalModel
from .resnet3d import ResNet3D

__all__ = ["ConfigError", "MLPHead", "PLEHead", "RenalModel", "ResNet3D", "r18_3p_96_mtdl", "r18_3p_96_stdl",
           "validate"]
