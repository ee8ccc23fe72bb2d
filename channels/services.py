"""Channels: resellers and partner apps (their life cycle is `gateway.parties`)."""

from __future__ import annotations

from channels.models import Channel
from channels.schemas import ChannelOut
from gateway.parties import Parties

channels = Parties(Channel, "channel", "chn", ChannelOut)
