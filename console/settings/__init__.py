"""Console settings: `console.yaml` and its keymap, loaded strictly."""
