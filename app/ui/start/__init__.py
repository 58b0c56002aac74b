"""The start screens: welcome, create, unlock, recover, the demos."""
