"""JSON Schemas of policy files, shipped as package data so editors can use them too."""
