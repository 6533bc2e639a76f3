"""microsite: Markdown articles and one crew/mission YAML file in, a static microsite out."""

__version__ = "0.1.0"
