"""MQTT to store: decode, validate, batch, write, acknowledge."""
