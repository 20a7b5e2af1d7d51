"""The inbox: customers' messages to the shop and members' answers, as storage and services.

Not to be confused with ``bot.conversations`` (the staff dialogs). One module per
concept, imported by name (``from bot.crm.inbox import threads``):

- ``routing``: who gets a customer's messages (``recipients``) and ``transfer``.
- ``shops``: which shop a customer of several shops is writing to.
- ``threads``: a customer's messages in, Done and quiet closing (the order of calls
  for handlers is in its docstring).
- ``relays``: messages in members' chats that stand for a conversation.
- ``replies``: where a member's answer goes, and recording it.
- ``listing``: the open conversations of ``/inbox``, oldest unanswered first.
- ``history``: a customer's messages, paged, and their erasure.
- ``quick``: saved answers by key and language.
- ``settings``: opening hours, reply SLA and the signature.
- ``sla``: which conversations waited too long, each reminder and escalation once.
- ``stats``: first-response times and unanswered conversations per rep.

Every service takes the session first and keyword-only arguments after it; those
acting for a member take ``actor`` and check its role and scope; the customer's
own side (a message in, a shop choice) takes the customer or the Telegram account.
Services flush but never commit: the caller's unit of work does.
"""
