from django.urls import path

from battles import views

urlpatterns = [
    path("battles", views.BattleListCreateView.as_view(), name="battles"),
    path("battles/presets", views.PresetsView.as_view(), name="battle-presets"),
    path("battles/<uuid:battle_id>", views.BattleDetailView.as_view(), name="battle-detail"),
    path("battles/<uuid:battle_id>/participants", views.ParticipantAddView.as_view(), name="battle-participants"),
    path("battles/<uuid:battle_id>/participants/<uuid:agent_id>", views.ParticipantRemoveView.as_view(),
         name="battle-participant"),
    path("battles/<uuid:battle_id>/start", views.BattleStartView.as_view(), name="battle-start"),
    path("battles/<uuid:battle_id>/pause", views.BattlePauseView.as_view(), name="battle-pause"),
    path("battles/<uuid:battle_id>/resume", views.BattleResumeView.as_view(), name="battle-resume"),
    path("battles/<uuid:battle_id>/stop", views.BattleStopView.as_view(), name="battle-stop"),
    path("battles/<uuid:battle_id>/step", views.BattleStepView.as_view(), name="battle-step"),
    path("battles/<uuid:battle_id>/step/batch", views.BattleStepBatchView.as_view(), name="battle-step-batch"),
    path("battles/<uuid:battle_id>/live", views.BattleLiveView.as_view(), name="battle-live"),
    path("battles/<uuid:battle_id>/results", views.BattleResultsView.as_view(), name="battle-results"),
    path("battles/<uuid:battle_id>/rematch", views.BattleRematchView.as_view(), name="battle-rematch"),
]
